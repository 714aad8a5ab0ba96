using System.Threading.Channels;
using Iam4Kube.Watching;
using Ip2Service.Rules;
using Ip2Service.Telemetry;

namespace Ip2Service.Sync;

/// <summary>
/// The single owner of the node's ip2service rules. At start it writes the fail-closed rules (no endpoints: every
/// intercepted connection is reset) before anything is known; then, for every <see cref="DesiredState"/> the
/// watcher publishes, it rewrites the rules when the endpoint set differs from what is live. A failed write is
/// retried with backoff, or as soon as a newer state arrives.
/// </summary>
internal sealed partial class RuleSyncer(
    RuleApplier applier,
    DesiredState initial,
    ChannelReader<DesiredState> desired,
    Readiness readiness,
    Ip2ServiceMetrics metrics,
    TimeProvider time,
    ILogger<RuleSyncer> logger) : BackgroundService
{
    private readonly Backoff _backoff = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
    private EndpointSet? _live;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = initial;
        try
        {
            while (true)
            {
                if (await TrySyncAsync(pending, stoppingToken))
                {
                    pending = Latest(await desired.ReadAsync(stoppingToken));
                }
                else
                {
                    // Retry after the backoff, or at once with whatever newer state arrives meanwhile.
                    using var delay = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    var wait = Task.Delay(_backoff.Next(), time, delay.Token);
                    var arrival = desired.WaitToReadAsync(delay.Token).AsTask();
                    await Task.WhenAny(wait, arrival);
                    await delay.CancelAsync();
                    stoppingToken.ThrowIfCancellationRequested();
                    pending = Latest(pending);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The rules stay as they are on exit: fail closed, and a restart finds them in place.
            Log.Stopping(logger, applier.Target.ToString());
        }
        catch (ChannelClosedException)
        {
            Log.Stopping(logger, applier.Target.ToString());
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

    private async Task<bool> TrySyncAsync(DesiredState state, CancellationToken cancellationToken)
    {
        if (state.Set.Equals(_live))
        {
            MarkReadyIfSynced(state);
            return true;
        }
        try
        {
            await applier.ApplyAsync(state.Set, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.SyncErrors.Inc();
            Log.SyncFailed(logger, applier.Target.ToString(), e.Message, e);
            return false;
        }
        LogChange(_live, state.Set);
        _live = state.Set;
        _backoff.Reset();
        metrics.Syncs.Inc();
        metrics.EndpointsProgrammed.Set(state.Set.Ready.Length);
        metrics.ExcludedSourcesProgrammed.Set(state.Set.Excluded.Length);
        metrics.LastSync.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        MarkReadyIfSynced(state);
        return true;
    }

    private void MarkReadyIfSynced(DesiredState state)
    {
        if (state.Synced && !readiness.IsReady)
        {
            readiness.MarkReady();
            Log.Ready(logger, applier.Target.ToString());
        }
    }

    private void LogChange(EndpointSet? before, EndpointSet after)
    {
        var target = applier.Target.ToString();
        var ready = string.Join(", ", after.Ready);
        var excluded = string.Join(", ", after.Excluded);
        if (after.Ready.IsEmpty)
        {
            Log.FailClosed(logger, target, excluded, applier.Backend.ToString().ToUpperInvariant());
            return;
        }
        var previous = before?.Ready ?? [];
        var added = string.Join(", ", after.Ready.Except(previous));
        var removed = string.Join(", ", previous.Except(after.Ready));
        Log.Programmed(logger, target, after.Ready.Length, ready, added, removed, excluded, applier.Backend.ToString().ToUpperInvariant());
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Rules for {Target} ({Backend}) now send connections to {Count} endpoint(s): [{Endpoints}] (added [{Added}], removed [{Removed}]); sources left alone: [{Excluded}]")]
        public static partial void Programmed(ILogger logger, string target, int count, string endpoints, string added, string removed, string excluded, string backend);

        [LoggerMessage(2, LogLevel.Warning, "Rules for {Target} ({Backend}) fail closed: no ready endpoint, connections are reset; sources left alone: [{Excluded}]")]
        public static partial void FailClosed(ILogger logger, string target, string excluded, string backend);

        [LoggerMessage(3, LogLevel.Error, "Writing the rules for {Target} failed ({Error}); retrying")]
        public static partial void SyncFailed(ILogger logger, string target, string error, Exception exception);

        [LoggerMessage(4, LogLevel.Information, "Ready: the rules for {Target} follow the Service's EndpointSlices")]
        public static partial void Ready(ILogger logger, string target);

        [LoggerMessage(5, LogLevel.Information, "Stopping; the rules for {Target} stay in place")]
        public static partial void Stopping(ILogger logger, string target);
    }
}
