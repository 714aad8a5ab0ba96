using System.Threading.Channels;
using Iam4Kube.Observability;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Credentials;

/// <summary>
/// Where credentials are fetched and refreshed. A single-owner loop fed by a channel: ServiceAccounts say which
/// roles are wanted, requests may ask for an early refresh, finished STS calls report back. The loop alone owns
/// the schedule, so there are no locks; it publishes immutable states to <see cref="CredentialStore"/>.
/// </summary>
internal sealed partial class CredentialRefresher(
    CredentialStore cache,
    ICredentialIssuer issuer,
    FreshnessPolicy policy,
    StsRateLimiter limiter,
    Iam4KubeMetrics metrics,
    TimeProvider time,
    ILogger<CredentialRefresher> logger) : BackgroundService, IRoleDemand
{
    private static readonly TimeSpan StsDefaultDuration = TimeSpan.FromHours(1);
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<IamRole, Entry> _entries = [];
    private static readonly TimeSpan SkewLogInterval = TimeSpan.FromMinutes(10);
    private readonly PriorityQueue<Entry, DateTimeOffset> _schedule = new();
    private DateTimeOffset? _skewLoggedAt;
    private Task<bool>? _commandArrived;

    public void Want(IamRole role) => _commands.Writer.TryWrite(new Command.Want(role));

    public void Forget(IamRole role) => _commands.Writer.TryWrite(new Command.Forget(role));

    /// <summary>A request found only credentials too close to expiry to serve: refresh now if not already.</summary>
    public void RefreshSoon(IamRole role) => _commands.Writer.TryWrite(new Command.RefreshNow(role));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            while (_commands.Reader.TryRead(out var command))
            {
                Apply(command);
            }

            StartDueFetches(stoppingToken);
            UpdateGauges();

            try
            {
                await WaitForWorkAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        _commandArrived ??= _commands.Reader.WaitToReadAsync(stoppingToken).AsTask();
        if (!_commandArrived.IsCompleted && NextDue() is { } due)
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var delay = due - time.GetUtcNow();
            if (delay > TimeSpan.Zero)
            {
                var elapsed = Task.Delay(delay, time, timer.Token);

                // The timer counts from when it was created, not from the reading above: if the clock passed the due
                // time in between (a suspended thread, a test's fake clock), the work is due now, not a delay later.
                if (time.GetUtcNow() < due)
                {
                    await Task.WhenAny(_commandArrived, elapsed);
                }

                await timer.CancelAsync();
            }
        }
        else
        {
            await _commandArrived;
        }

        if (_commandArrived.IsCompleted)
        {
            await _commandArrived;
            _commandArrived = null;
        }
    }

    private DateTimeOffset? NextDue()
    {
        while (_schedule.TryPeek(out var entry, out var due))
        {
            if (entry.Removed || entry.InFlight || entry.DueAt != due)
            {
                _schedule.Dequeue();
                continue;
            }

            return due;
        }

        return null;
    }

    private void Apply(Command command)
    {
        switch (command)
        {
            case Command.Want(var role) when !_entries.ContainsKey(role):
                var entry = new Entry(role) { Duration = role.SessionDuration ?? policy.SessionDuration };
                if (policy.MaxSessionDuration is { } max && entry.Duration > max)
                {
                    // Known before asking: chained sessions last at most an hour, so do not spend a refused call on it.
                    entry.Notice = $"{RoleRequestedDuration(role)} asks for {entry.Duration.TotalSeconds:0} s, but role chaining (--assume-role-arn) "
                        + $"limits sessions to {max.TotalSeconds:0} s: sessions last {max.TotalSeconds:0} s";
                    entry.Duration = max;
                }

                _entries.Add(role, entry);
                cache.Publish(role, CredentialState.Pending);
                Schedule(entry, time.GetUtcNow());
                Log.RoleWanted(logger, role.Arn.Value, role.SessionName);
                break;
            case Command.Forget(var role) when _entries.Remove(role, out var removed):
                removed.Removed = true;
                cache.Remove(role);
                Log.RoleForgotten(logger, role.Arn.Value, role.SessionName);
                break;
            case Command.RefreshNow(var role) when _entries.TryGetValue(role, out var stale) && !stale.InFlight:
                // Only when the cached credentials really are too old: several requests may ask at once. After short
                // credentials, no sooner than their spacing: STS would answer the same, and requests ask in a loop.
                if (!policy.IsServable(stale.State, time.GetUtcNow(), role.SessionDuration) && stale.State.Healthy)
                {
                    var now = time.GetUtcNow();
                    var due = stale.EarliestRefresh is { } earliest && earliest > now ? earliest : now;
                    if (stale.DueAt is not { } planned || planned > due)
                    {
                        Schedule(stale, due);
                    }
                }

                break;
            case Command.Completed completed when !completed.Entry.Removed:
                Complete(completed);
                break;
        }
    }

    private void Complete(Command.Completed completed)
    {
        var entry = completed.Entry;
        var now = time.GetUtcNow();
        entry.InFlight = false;
        if (completed.Credentials is { } credentials)
        {
            if (entry.Notice is { } notice)
            {
                credentials = credentials with { Notice = notice };
            }

            entry.Failures = 0;
            ObserveClock(credentials, now);
            credentials = CheckLifetime(entry, credentials, now);
            entry.State = new CredentialState(credentials, null);
            var refreshAt = policy.RefreshAt(credentials, now, Random.Shared.NextDouble(), entry.Role.SessionDuration);
            Schedule(entry, entry.EarliestRefresh is { } earliest && earliest > refreshAt ? earliest : refreshAt);
            Log.CredentialsIssued(logger, entry.Role.Arn.Value, entry.Role.SessionName, credentials.AccessKeyId, credentials.Expiration);
        }
        else if (completed.Failure is { Code: StsCredentialIssuer.SessionDurationTooLong } tooLong && Shorter(entry.Duration) is { } shorter)
        {
            // Not a failure of the role: ask again at once (through the rate limiter) for less. Each step is shorter
            // and ends at STS's own default of 1 h, which every role allows, so this cannot loop.
            entry.Notice = $"STS refused a {entry.Duration.TotalSeconds:0} s session for {entry.Role.Arn} ({tooLong.Message}); "
                + $"sessions last {shorter.TotalSeconds:0} s instead. Raise the role's MaxSessionDuration, or lower {RoleRequestedDuration(entry.Role)}";
            Log.SessionDurationFallback(logger, entry.Role.Arn.Value, entry.Role.SessionName, entry.Duration, shorter, tooLong.Message);
            metrics.SessionDurationFallbacks.Inc();
            entry.Duration = shorter;
            Schedule(entry, now);
            return;
        }
        else
        {
            var failure = completed.Failure!;
            entry.Failures++;
            entry.State = entry.State with { Failure = failure };
            var retryIn = RetryBackoff.For(entry.Failures, failure.Permanent, Random.Shared.NextDouble());
            Schedule(entry, now + retryIn);
            Log.IssueFailed(logger, entry.Role.Arn.Value, entry.Role.SessionName, failure.Code, failure.Message, failure.Permanent, retryIn, entry.State.Current is not null);
        }

        cache.Publish(entry.Role, entry.State with { NextAttemptAt = entry.DueAt });
    }

    /// <summary>The skew against STS's clock, as a metric, and a log line (at most every ten minutes) beyond the threshold.</summary>
    private void ObserveClock(RoleCredentials credentials, DateTimeOffset now)
    {
        if (credentials.StsClockSkew is not { } skew)
        {
            return;
        }

        metrics.StsClockSkew.Set(skew.TotalSeconds);
        if (skew.Duration() > RoleCredentials.ClockSkewThreshold && (_skewLoggedAt is not { } logged || now - logged >= SkewLogInterval))
        {
            _skewLoggedAt = now;
            Log.ClockSkew(logger, skew.TotalSeconds, RoleCredentials.ClockSkewThreshold.TotalSeconds);
        }
    }

    /// <summary>
    /// Credentials with less life than the SDKs' refresh windows need: served down to the hard minimum, the next call
    /// spaced by a backoff that grows while STS keeps answering so, and said in a log line, a metric and (through
    /// <see cref="RoleCredentials.ShortLivedNotice"/>) a Warning Event on the pods served.
    /// </summary>
    private RoleCredentials CheckLifetime(Entry entry, RoleCredentials credentials, DateTimeOffset now)
    {
        if (!policy.IsShortLived(credentials, entry.Role.SessionDuration))
        {
            entry.ShortStreak = 0;
            entry.EarliestRefresh = null;
            return credentials;
        }

        entry.ShortStreak++;
        var spacing = RetryBackoff.ShortCredentials(entry.ShortStreak, Random.Shared.NextDouble());
        entry.EarliestRefresh = now + spacing;
        var life = credentials.LifeAtIssue;
        var why = credentials.StsClockSkew is null
            ? "STS's clock could not be compared (no Date header)"
            : credentials.ExpiryCorrection != TimeSpan.Zero
                ? $"this node's clock is {credentials.StsClockSkew.Value.TotalSeconds:0} s off STS's (corrected for), and the session is still short"
                : $"STS granted less than the {entry.Duration.TotalSeconds:0} s asked for";
        metrics.ShortLivedCredentials.Inc();
        Log.ShortLived(logger, entry.Role.Arn.Value, entry.Role.SessionName, life.TotalSeconds, why, FreshnessPolicy.HardMinimum.TotalSeconds, spacing.TotalSeconds);
        return credentials with
        {
            ShortLivedNotice = $"STS issued credentials for {entry.Role.Arn} that live {life.TotalSeconds:0} s ({why}), less than SDKs' 15-minute refresh window: "
                + $"they are served until {FreshnessPolicy.HardMinimum.TotalSeconds:0} s before expiry and refreshed at most every {spacing.TotalSeconds:0} s; expect SDKs to ask often",
        };
    }

    /// <summary>The next duration to try after STS refused <paramref name="refused"/>: --session-duration, then STS's default hour.</summary>
    private TimeSpan? Shorter(TimeSpan refused) =>
        refused > policy.SessionDuration ? policy.SessionDuration
        : refused > StsDefaultDuration ? StsDefaultDuration
        : null;

    private static string RoleRequestedDuration(IamRole role) =>
        role.SessionDuration is null ? "--session-duration" : $"the ServiceAccount's {RoleAnnotations.SessionDurationKey} annotation";

    private void Schedule(Entry entry, DateTimeOffset due)
    {
        entry.DueAt = due;
        _schedule.Enqueue(entry, due);
    }

    private void StartDueFetches(CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        while (NextDue() is { } due && due <= now)
        {
            var entry = _schedule.Dequeue();
            entry.InFlight = true;
            entry.DueAt = null;
            _ = FetchAsync(entry, entry.Duration, stoppingToken);
        }
    }

    private async Task FetchAsync(Entry entry, TimeSpan duration, CancellationToken stoppingToken)
    {
        RoleCredentials? credentials = null;
        CredentialFailure? failure = null;
        try
        {
            var waitStarted = time.GetTimestamp();
            using var lease = await limiter.AcquireAsync(stoppingToken);
            metrics.RateLimiterWait.Observe(time.GetElapsedTime(waitStarted).TotalSeconds);

            var started = time.GetTimestamp();
            try
            {
                credentials = await issuer.IssueAsync(entry.Role, duration, stoppingToken);
                metrics.StsCalls.WithLabels("success").Inc();
            }
            finally
            {
                metrics.StsDuration.Observe(time.GetElapsedTime(started).TotalSeconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (CredentialIssueException e)
        {
            metrics.StsCalls.WithLabels(e.Code).Inc();
            failure = new CredentialFailure(e.Code, e.Message, e.Permanent, time.GetUtcNow());
        }
        catch (Exception e)
        {
            metrics.StsCalls.WithLabels("error").Inc();
            failure = new CredentialFailure(e.GetType().Name, e.Message, Permanent: false, time.GetUtcNow());
        }

        _commands.Writer.TryWrite(new Command.Completed(entry, credentials, failure));
    }

    private void UpdateGauges()
    {
        var now = time.GetUtcNow();
        int fresh = 0, stale = 0, failing = 0, pending = 0;
        foreach (var entry in _entries.Values)
        {
            var state = entry.State;
            if (state.Current is null)
            {
                if (state.Healthy)
                {
                    pending++;
                }
                else
                {
                    failing++;
                }
            }
            else if (policy.IsServable(state, now, entry.Role.SessionDuration))
            {
                fresh++;
            }
            else
            {
                stale++;
            }
        }

        metrics.CacheEntries.WithLabels("fresh").Set(fresh);
        metrics.CacheEntries.WithLabels("stale").Set(stale);
        metrics.CacheEntries.WithLabels("failing").Set(failing);
        metrics.CacheEntries.WithLabels("pending").Set(pending);
    }

    /// <summary>The loop's own record of a role; never touched outside the loop.</summary>
    private sealed class Entry(IamRole role)
    {
        public IamRole Role => role;

        public CredentialState State { get; set; } = CredentialState.Pending;

        public DateTimeOffset? DueAt { get; set; }

        public bool InFlight { get; set; }

        public bool Removed { get; set; }

        public int Failures { get; set; }

        /// <summary>The session duration asked for: the ServiceAccount's, else --session-duration, shortened when STS refused it.</summary>
        public TimeSpan Duration { get; set; }

        /// <summary>Why <see cref="Duration"/> is shorter than asked; carried by the credentials to an Event.</summary>
        public string? Notice { get; set; }

        /// <summary>Short-lived credentials in a row: how far apart the next calls are (<see cref="RetryBackoff.ShortCredentials"/>).</summary>
        public int ShortStreak { get; set; }

        /// <summary>After short-lived credentials, no refresh before this, whatever requests ask.</summary>
        public DateTimeOffset? EarliestRefresh { get; set; }
    }

    private abstract record Command
    {
        public sealed record Want(IamRole Role) : Command;

        public sealed record Forget(IamRole Role) : Command;

        public sealed record RefreshNow(IamRole Role) : Command;

        public sealed record Completed(Entry Entry, RoleCredentials? Credentials, CredentialFailure? Failure) : Command;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Prefetching credentials for {RoleArn} as {SessionName}")]
        public static partial void RoleWanted(ILogger logger, string roleArn, string sessionName);

        [LoggerMessage(2, LogLevel.Information, "No ServiceAccount assigns {RoleArn} as {SessionName} any more; dropped its credentials")]
        public static partial void RoleForgotten(ILogger logger, string roleArn, string sessionName);

        [LoggerMessage(3, LogLevel.Information, "Obtained credentials {AccessKeyId} for {RoleArn} as {SessionName}, expiring {Expiration:O}")]
        public static partial void CredentialsIssued(ILogger logger, string roleArn, string sessionName, string accessKeyId, DateTimeOffset expiration);

        [LoggerMessage(4, LogLevel.Warning, "AssumeRole {RoleArn} as {SessionName} failed with {Code}: {Reason} (permanent: {Permanent}); retrying in {RetryIn}; still-valid credentials kept: {KeptCredentials}")]
        public static partial void IssueFailed(ILogger logger, string roleArn, string sessionName, string code, string reason, bool permanent, TimeSpan retryIn, bool keptCredentials);

        [LoggerMessage(6, LogLevel.Warning, "STS issued credentials for {RoleArn} as {SessionName} that live only {LifeSeconds:0} s ({Why}); serving them until {HardMinimumSeconds:0} s before expiry, next AssumeRole in {SpacingSeconds:0} s at the earliest")]
        public static partial void ShortLived(ILogger logger, string roleArn, string sessionName, double lifeSeconds, string why, double hardMinimumSeconds, double spacingSeconds);

        [LoggerMessage(7, LogLevel.Warning, "This node's clock is {SkewSeconds:0} s off STS's (its Date header; more than {ThresholdSeconds:0} s): expiry is computed on STS's clock. Fix the node's time sync (chrony, Amazon Time Sync Service)")]
        public static partial void ClockSkew(ILogger logger, double skewSeconds, double thresholdSeconds);

        [LoggerMessage(5, LogLevel.Warning, "STS refused a {Refused} session for {RoleArn} as {SessionName} ({Reason}); asking again for {Duration}")]
        public static partial void SessionDurationFallback(ILogger logger, string roleArn, string sessionName, TimeSpan refused, TimeSpan duration, string reason);
    }
}
