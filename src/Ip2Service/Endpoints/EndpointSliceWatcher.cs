using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Iam4Kube.Watching;
using Ip2Service.Telemetry;
using k8s;
using k8s.Models;

namespace Ip2Service.Endpoints;

/// <summary>
/// Follows the Service's EndpointSlices: lists them, then watches from the list's resourceVersion (resuming from
/// the last seen one when a watch ends). A frozen endpoint set would route pods to a dead replica, so the watch is
/// kept honest as iam4kube's informers keep theirs: every event and BOOKMARK is a heartbeat, a watch silent for the
/// idle timeout is replaced, one that cannot make progress after a few attempts (or answers 410 Gone, 504
/// ResourceVersionTooLarge, a 400/422 about the resourceVersion) leads to a relist, spaced like client-go (800 ms
/// doubling to 30 s), and an API server that does not answer at all is retried every second. After the first
/// complete list, and after every change, it publishes the merged <see cref="DesiredState"/>; the channel keeps only
/// the latest, so a burst of changes costs one rule write.
/// </summary>
internal sealed partial class EndpointSliceWatcher(
    IKubernetes client,
    ServiceReference service,
    IReadOnlyList<InterceptRoute> routes,
    ImmutableArray<IPAddress> extraExclusions,
    ChannelWriter<DesiredState> desired,
    Ip2ServiceMetrics metrics,
    TimeProvider time,
    ILogger<EndpointSliceWatcher> logger,
    WatchSettings? watchSettings = null) : BackgroundService
{
    private readonly WatchSettings _settings = watchSettings ?? new WatchSettings();
    private readonly EndpointSliceIndex _index = new();
    private WatchPacer? _pacer;
    private long _lastHeard;

    private WatchPacer Pacer => _pacer ??= new WatchPacer(_settings);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Seconds since the endpoint set was last known up to date, computed when scraped.
        metrics.Registry.AddBeforeCollectCallback(() =>
            metrics.ViewAge.Set(_lastHeard == 0 ? 0 : time.GetElapsedTime(Volatile.Read(ref _lastHeard)).TotalSeconds));
        string? resourceVersion = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            WatchPacer.Step step;
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(stoppingToken);
                    Pacer.Listed();
                }

                var outcome = await WatchAsync(resourceVersion, stoppingToken);
                resourceVersion = outcome.ResourceVersion;
                step = Pacer.AfterWatch(outcome.Heard, outcome.Lasted, outcome.Error, outcome.WentIdle);
                metrics.WatchRestarts.WithLabels(step.RelistReason == "no_progress" ? "no_progress" : step.Label).Inc();
                Report(step, outcome.Error is { } e ? WatchFailures.Describe(e) : $"no event and no BOOKMARK for {_settings.IdleTimeout.TotalSeconds:0.#}s", outcome.Error);
                if (step.RelistReason is not null)
                {
                    resourceVersion = null;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Only the list throws here. Whatever went wrong (API server down, RBAC, a bad kubeconfig), the rules
                // stay as they are and fail closed; keep trying.
                step = Pacer.AfterListFailure(e);
                metrics.WatchRestarts.WithLabels(WatchFailures.Classify(e).NeedsRelist() ? step.Label : "error").Inc();
                Report(step, WatchFailures.Describe(e), e);
            }

            await DelayAsync(step.Delay, stoppingToken);
        }
    }

    private void Report(WatchPacer.Step step, string detail, Exception? error)
    {
        if (step.Degraded is { } condition)
        {
            Log.Degraded(logger, service.ToString(), condition, detail, error);
        }
        else if (step.Recovered)
        {
            Log.Recovered(logger, service.ToString());
        }
    }

    private void Heard() => Volatile.Write(ref _lastHeard, time.GetTimestamp());

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.ListPageTimeout);
        var list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
            service.Namespace, labelSelector: service.LabelSelector, cancellationToken: timeout.Token);
        _index.ReplaceAll((list.Items ?? []).Select(Parse));
        var resourceVersion = list.Metadata?.ResourceVersion ?? "";
        Heard();
        Log.Listed(logger, service.ToString(), _index.Count, resourceVersion);
        Publish();
        return resourceVersion;
    }

    private async Task<WatchOutcome> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var heard = 0;
        Exception? streamError = null;
        // A short server-side timeout (kube-apiserver sends a BOOKMARK about 2 s before it) keeps a healthy quiet
        // watch heard from within the idle timeout; the watchdog ends one that is not (a connection that died
        // without a FIN: no read timeout would ever notice, and the rules would silently go stale).
        using var watchdog = new IdleWatchdog(_settings.IdleTimeout, time, cancellationToken);
        var events = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            service.Namespace,
            allowWatchBookmarks: true,
            labelSelector: service.LabelSelector,
            resourceVersion: resourceVersion,
            timeoutSeconds: _settings.NextWatchTimeoutSeconds(),
            // The stream reports an ERROR event (a Status, e.g. 410 Gone) or an undecodable line here.
            onError: e => streamError ??= e,
            cancellationToken: watchdog.Token);

        try
        {
            await foreach (var (type, slice) in events)
            {
                heard++;
                watchdog.Beat();
                Heard();
                resourceVersion = slice.Metadata?.ResourceVersion ?? resourceVersion;
                switch (type)
                {
                    case WatchEventType.Added:
                    case WatchEventType.Modified:
                        _index.Upsert(Parse(slice));
                        break;
                    case WatchEventType.Deleted:
                        _index.Remove(slice.Metadata?.Name ?? "");
                        break;
                    default:
                        // Bookmarks only move the resourceVersion on.
                        continue;
                }
                Log.Changed(logger, type, slice.Metadata?.Name ?? "", resourceVersion);
                Publish();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The watchdog: the watch went idle.
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            streamError ??= e;
        }
        return new WatchOutcome(resourceVersion, heard, time.GetElapsedTime(started), streamError, watchdog.WentIdle && streamError is null);
    }

    private ParsedSlice Parse(V1EndpointSlice slice)
    {
        var parsed = EndpointSliceParser.Parse(slice, [.. routes.Select(r => r.PortName)]);
        foreach (var problem in parsed.Problems)
        {
            metrics.InvalidEndpoints.WithLabels(Ip2ServiceMetrics.Label(problem.Reason)).Inc();
            Log.Skipped(logger, problem.Slice, Ip2ServiceMetrics.Label(problem.Reason), problem.Detail);
        }
        return parsed;
    }

    private void Publish() =>
        // Bounded(1) with DropOldest never blocks and never fails: the syncer only needs the latest state.
        desired.TryWrite(new DesiredState(_index.Snapshot(routes, extraExclusions), Synced: true));

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private readonly record struct WatchOutcome(string ResourceVersion, int Heard, TimeSpan Lasted, Exception? Error, bool WentIdle);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Listed the EndpointSlices of {Service}: {Count} slice(s) at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string service, int count, string resourceVersion);

        [LoggerMessage(2, LogLevel.Debug, "EndpointSlice {Slice} {EventType} (resourceVersion {ResourceVersion})")]
        public static partial void Changed(ILogger logger, WatchEventType eventType, string slice, string resourceVersion);

        [LoggerMessage(4, LogLevel.Warning, "Watching the EndpointSlices of {Service} is degraded ({Condition}): {Detail}; keeping the last rules, retrying with backoff")]
        public static partial void Degraded(ILogger logger, string service, string condition, string detail, Exception? exception);

        [LoggerMessage(6, LogLevel.Warning, "Skipped part of EndpointSlice {Slice} ({Reason}): {Detail}")]
        public static partial void Skipped(ILogger logger, string slice, string reason, string detail);

        [LoggerMessage(8, LogLevel.Information, "Watching the EndpointSlices of {Service} works again")]
        public static partial void Recovered(ILogger logger, string service);
    }
}
