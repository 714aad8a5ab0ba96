using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Ip2Service.Endpoints;

/// <summary>
/// Follows the Service's EndpointSlices: lists them, then watches from the list's resourceVersion (resuming from
/// the last seen one when a watch ends), relists when the API server answers 410 Gone (history compacted), and
/// backs off on errors. After the first complete list, and after every change, it publishes the merged
/// <see cref="DesiredState"/>; the channel keeps only the latest, so a burst of changes costs one rule write.
/// </summary>
internal sealed partial class EndpointSliceWatcher(
    IKubernetes client,
    ServiceReference service,
    ImmutableArray<IPAddress> extraExclusions,
    ChannelWriter<DesiredState> desired,
    Ip2ServiceMetrics metrics,
    TimeProvider time,
    ILogger<EndpointSliceWatcher> logger) : BackgroundService
{
    /// <summary>A watch that ends cleanly after this long is normal (server-side timeout) and is resumed at once;
    /// one that ends sooner is resumed after a backoff, so a misbehaving server is not hammered.</summary>
    private static readonly TimeSpan HealthyWatch = TimeSpan.FromSeconds(1);

    private readonly EndpointSliceIndex _index = new();
    private readonly Backoff _backoff = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string? resourceVersion = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(stoppingToken);
                }
                var outcome = await WatchAsync(resourceVersion, stoppingToken);
                resourceVersion = outcome.ResourceVersion;
                if (outcome.Expired)
                {
                    metrics.WatchRestarts.WithLabels("expired").Inc();
                    Log.Expired(logger, service.ToString());
                    resourceVersion = null;
                }
                else if (outcome.Healthy)
                {
                    metrics.WatchRestarts.WithLabels("closed").Inc();
                    _backoff.Reset();
                }
                else
                {
                    metrics.WatchRestarts.WithLabels("error").Inc();
                    await DelayAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
            {
                metrics.WatchRestarts.WithLabels("expired").Inc();
                Log.Expired(logger, service.ToString());
                resourceVersion = null;
            }
            catch (Exception e)
            {
                // Whatever went wrong (API server down, RBAC, a bad kubeconfig), the rules stay as they are and
                // fail closed; keep trying.
                metrics.WatchRestarts.WithLabels("error").Inc();
                Log.Failed(logger, service.ToString(), Describe(e), e);
                await DelayAsync(stoppingToken);
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        var list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
            service.Namespace, labelSelector: service.LabelSelector, cancellationToken: cancellationToken);
        _index.ReplaceAll((list.Items ?? []).Select(Parse));
        var resourceVersion = list.Metadata?.ResourceVersion ?? "";
        Log.Listed(logger, service.ToString(), _index.Count, resourceVersion);
        Publish();
        _backoff.Reset();
        return resourceVersion;
    }

    private async Task<WatchOutcome> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var expired = false;
        Exception? streamError = null;
        // Server-side timeout spread over 5-10 minutes (as client-go does), so watches of all nodes do not end together.
        var timeoutSeconds = 300 + Random.Shared.Next(300);
        // And a client-side deadline a little later, for a connection that died without a FIN (a node losing its
        // route to the API server): no read timeout would ever notice, and the rules would silently go stale.
        using var timer = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds + 30), time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var events = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            service.Namespace,
            allowWatchBookmarks: true,
            labelSelector: service.LabelSelector,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            onError: e =>
            {
                // The stream reports an ERROR event (a Status, e.g. 410 Gone) or an undecodable line here and goes on.
                if (e is KubernetesException { Status.Code: 410 })
                {
                    expired = true;
                }
                else
                {
                    streamError = e;
                    Log.StreamError(logger, service.ToString(), Describe(e));
                }
            },
            cancellationToken: deadline.Token);

        try
        {
            await foreach (var (type, slice) in events)
            {
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
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Log.DeadlinePassed(logger, service.ToString());
        }
        var healthy = streamError is null && time.GetElapsedTime(started) >= HealthyWatch;
        return new WatchOutcome(resourceVersion, expired, healthy);
    }

    private ParsedSlice Parse(V1EndpointSlice slice)
    {
        var parsed = EndpointSliceParser.Parse(slice, service.PortName);
        foreach (var problem in parsed.Problems)
        {
            metrics.InvalidEndpoints.WithLabels(Ip2ServiceMetrics.Label(problem.Reason)).Inc();
            Log.Skipped(logger, problem.Slice, Ip2ServiceMetrics.Label(problem.Reason), problem.Detail);
        }
        return parsed;
    }

    private void Publish() =>
        // Bounded(1) with DropOldest never blocks and never fails: the syncer only needs the latest state.
        desired.TryWrite(new DesiredState(_index.Snapshot(extraExclusions), Synced: true));

    private async Task DelayAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(_backoff.Next(), time, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private static string Describe(Exception e) => e switch
    {
        HttpOperationException http => $"HTTP {(int?)http.Response?.StatusCode} {http.Response?.Content}".Trim(),
        KubernetesException k8s when k8s.Status is not null => $"{k8s.Status.Code} {k8s.Status.Reason}: {k8s.Status.Message}",
        _ => e.Message,
    };

    private sealed record WatchOutcome(string ResourceVersion, bool Expired, bool Healthy);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Listed the EndpointSlices of {Service}: {Count} slice(s) at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string service, int count, string resourceVersion);

        [LoggerMessage(2, LogLevel.Debug, "EndpointSlice {Slice} {EventType} (resourceVersion {ResourceVersion})")]
        public static partial void Changed(ILogger logger, WatchEventType eventType, string slice, string resourceVersion);

        [LoggerMessage(3, LogLevel.Information, "The watch of {Service}'s EndpointSlices expired (410 Gone); listing again")]
        public static partial void Expired(ILogger logger, string service);

        [LoggerMessage(4, LogLevel.Warning, "Listing or watching the EndpointSlices of {Service} failed ({Error}); retrying with backoff")]
        public static partial void Failed(ILogger logger, string service, string error, Exception exception);

        [LoggerMessage(5, LogLevel.Warning, "The watch of {Service}'s EndpointSlices reported: {Error}")]
        public static partial void StreamError(ILogger logger, string service, string error);

        [LoggerMessage(6, LogLevel.Warning, "Skipped part of EndpointSlice {Slice} ({Reason}): {Detail}")]
        public static partial void Skipped(ILogger logger, string slice, string reason, string detail);

        [LoggerMessage(7, LogLevel.Warning, "The watch of {Service}'s EndpointSlices outlived its timeout without ending; reconnecting")]
        public static partial void DeadlinePassed(ILogger logger, string service);
    }
}
