using System.Collections.Immutable;
using System.Diagnostics;
using System.Threading.Channels;
using Iam4Kube.Watching;
using Ip2Service.Rules;
using Ip2Service.Telemetry;

namespace Ip2Service.Sync;

/// <summary>
/// The single owner of the node's ip2service rules, for every address family. At start it writes the fail-closed
/// rules (no endpoints: every intercepted connection is reset) before anything is known; then, for every
/// <see cref="DesiredState"/> the watcher publishes, it rewrites a family's rules when its endpoint sets differ from
/// what is live. Between changes it reads the live rules every resync interval and, when someone else changed them (a
/// flushed chain, a deleted jump, a foreign rule in our chain), writes them again at once, counting the repair by
/// reason. A failed write is retried with backoff, or as soon as a newer state arrives.
/// </summary>
internal sealed partial class RuleSyncer(
    IReadOnlyList<RuleApplier> appliers,
    DesiredState initial,
    ChannelReader<DesiredState> desired,
    Readiness readiness,
    Ip2ServiceMetrics metrics,
    TimeProvider time,
    TimeSpan resyncInterval,
    ILogger<RuleSyncer> logger) : BackgroundService
{
    private readonly Backoff _backoff = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
    private readonly ImmutableArray<TargetRules>?[] _live = new ImmutableArray<TargetRules>?[appliers.Count];
    private readonly Dictionary<InterceptTarget, EndpointSet> _announced = [];

    /// <summary>The default resync interval: a flushed chain is repaired within it.</summary>
    public static TimeSpan DefaultResyncInterval { get; } = TimeSpan.FromSeconds(5);

    private static string Targets(DesiredState state) => string.Join(", ", state.Rules.Select(r => r.Target));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = initial;
        try
        {
            var check = false;
            while (true)
            {
                var synced = await TrySyncAsync(pending, check, stoppingToken);
                // Wait for a newer state, the next check, or the retry after the backoff, whichever comes first.
                using var delay = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var wait = Task.Delay(synced ? resyncInterval : _backoff.Next(), time, delay.Token);
                var arrival = desired.WaitToReadAsync(delay.Token).AsTask();
                var first = await Task.WhenAny(wait, arrival);
                await delay.CancelAsync();
                stoppingToken.ThrowIfCancellationRequested();
                if (first == arrival && !await arrival)
                {
                    throw new ChannelClosedException();
                }
                check = synced && first == wait;
                pending = Latest(pending);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The rules stay as they are on exit: fail closed, and a restart finds them in place.
            Log.Stopping(logger, Targets(pending));
        }
        catch (ChannelClosedException)
        {
            Log.Stopping(logger, Targets(pending));
        }
    }

    /// <summary>The newest state available without waiting.</summary>
    private DesiredState Latest(DesiredState current)
    {
        while (desired.TryRead(out var newer))
        {
            current = newer;
        }
        return current;
    }

    /// <summary>Brings every family to <paramref name="state"/>; with <paramref name="check"/>, also reads the live
    /// rules of families already there. True when every family is live.</summary>
    private async Task<bool> TrySyncAsync(DesiredState state, bool check, CancellationToken cancellationToken)
    {
        var all = true;
        for (var i = 0; i < appliers.Count; i++)
        {
            all &= await TrySyncAsync(i, state, check, cancellationToken);
        }
        if (all)
        {
            _backoff.Reset();
            MarkReadyIfSynced(state);
        }
        return all;
    }

    private async Task<bool> TrySyncAsync(int index, DesiredState state, bool check, CancellationToken cancellationToken)
    {
        var applier = appliers[index];
        var rules = state.Of(applier.Family);
        var family = IpFamilies.Label(applier.Family);
        var backend = applier.Backend.ToString().ToUpperInvariant();
        try
        {
            if (_live[index] is { } live && live.SequenceEqual(rules))
            {
                if (!check)
                {
                    return true;
                }
                var started = Stopwatch.GetTimestamp();
                var problem = await applier.CheckAsync(rules, cancellationToken);
                metrics.RuleCheckDuration.WithLabels(family).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                if (problem is null)
                {
                    return true;
                }
                metrics.RuleRepairs.WithLabels(problem.Reason, family).Inc();
                Log.Repairing(logger, family, backend, problem.Reason, problem.Detail);
                _live[index] = null;
            }
            await applier.ApplyAsync(rules, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _live[index] = null;
            metrics.SyncErrors.Inc();
            Log.SyncFailed(logger, family, Targets(state), e.Message, e);
            return false;
        }
        foreach (var target in rules)
        {
            LogChange(target, backend);
        }
        _live[index] = rules;
        metrics.Syncs.Inc();
        if (state.Rules.FirstOrDefault() is { } primary && primary.Target.Family == applier.Family)
        {
            metrics.EndpointsProgrammed.Set(primary.Set.Ready.Length);
            metrics.ExcludedSourcesProgrammed.Set(primary.Set.Excluded.Length);
        }
        metrics.LastSync.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        return true;
    }

    private void MarkReadyIfSynced(DesiredState state)
    {
        if (state.Synced && !readiness.IsReady)
        {
            readiness.MarkReady();
            Log.Ready(logger, Targets(state));
        }
    }

    private void LogChange(TargetRules rules, string backend)
    {
        if (_announced.GetValueOrDefault(rules.Target) is { } before && before.Equals(rules.Set))
        {
            return;
        }
        _announced[rules.Target] = rules.Set;
        var (target, after) = (rules.Target.ToString(), rules.Set);
        var excluded = string.Join(", ", after.Excluded);
        if (after.Ready.IsEmpty)
        {
            Log.FailClosed(logger, target, excluded, backend);
            return;
        }
        Log.Programmed(logger, target, after.Ready.Length, string.Join(", ", after.Ready), excluded, backend);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Rules for {Target} ({Backend}) now send connections to {Count} endpoint(s): [{Endpoints}]; sources left alone: [{Excluded}]")]
        public static partial void Programmed(ILogger logger, string target, int count, string endpoints, string excluded, string backend);

        [LoggerMessage(2, LogLevel.Warning, "Rules for {Target} ({Backend}) fail closed: no ready endpoint, connections are reset; sources left alone: [{Excluded}]")]
        public static partial void FailClosed(ILogger logger, string target, string excluded, string backend);

        [LoggerMessage(3, LogLevel.Error, "Writing the {Family} rules for {Targets} failed ({Error}); retrying")]
        public static partial void SyncFailed(ILogger logger, string family, string targets, string error, Exception exception);

        [LoggerMessage(4, LogLevel.Information, "Ready: the rules for {Targets} follow the Service's EndpointSlices")]
        public static partial void Ready(ILogger logger, string targets);

        [LoggerMessage(5, LogLevel.Information, "Stopping; the rules for {Targets} stay in place")]
        public static partial void Stopping(ILogger logger, string targets);

        [LoggerMessage(6, LogLevel.Warning, "The live {Family} rules ({Backend}) were changed by someone else ({Reason}: {Detail}); writing them again")]
        public static partial void Repairing(ILogger logger, string family, string backend, string reason, string detail);
    }
}
