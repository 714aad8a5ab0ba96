using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Iam4Kube.Watching;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using k8s;
using k8s.Models;

namespace Ip2Service.Endpoints;

/// <summary>
/// Follows the Service's EndpointSlices (label <c>kubernetes.io/service-name</c> in its namespace) with the informer
/// iam4kube's view uses (<see cref="ResourceInformer{TItem,TList,TKept}"/>): a list, then watches resumed from the
/// last seen resourceVersion. A frozen endpoint set would route pods to a dead replica, so the watch is kept honest
/// the same way: every event and BOOKMARK is a heartbeat, a watch silent for the idle timeout is replaced, one that
/// cannot make progress after a few attempts (or answers 410 Gone, 504 ResourceVersionTooLarge, a 400/422 about the
/// resourceVersion) leads to a relist, spaced like client-go (800 ms doubling to 30 s), and an API server that does
/// not answer at all is retried every second. This class is the informer's handler and report: after the first
/// complete list, and after every change, it publishes the merged <see cref="DesiredState"/>; the channel keeps only
/// the latest, so a burst of changes costs one rule write.
/// </summary>
internal sealed partial class EndpointSliceWatcher(
    KubernetesApi client,
    ServiceReference service,
    IReadOnlyList<InterceptRoute> routes,
    ImmutableArray<IPAddress> extraExclusions,
    ChannelWriter<DesiredState> desired,
    Ip2ServiceMetrics metrics,
    TimeProvider time,
    ILogger<EndpointSliceWatcher> logger,
    WatchSettings? watchSettings = null) : BackgroundService, IResourceHandler<V1EndpointSlice, ParsedSlice>, IInformerReport
{
    private readonly EndpointSliceIndex _index = new();
    private long _lastHeard;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Seconds since the endpoint set was last known up to date, computed when scraped.
        metrics.Registry.AddBeforeCollectCallback(() =>
            metrics.ViewAge.Set(_lastHeard == 0 ? 0 : time.GetElapsedTime(Volatile.Read(ref _lastHeard)).TotalSeconds));
        var informer = new ResourceInformer<V1EndpointSlice, V1EndpointSliceList, ParsedSlice>(
            ListPageAsync,
            (rv, timeout, onError, ct) => WatchStream.ReadAsync(
                client, Path, [("allowWatchBookmarks", "true"), ("labelSelector", service.LabelSelector), ("resourceVersion", rv),
                    ("timeoutSeconds", timeout.ToString(CultureInfo.InvariantCulture))],
                Decoder, onError, ct),
            this,
            this,
            watchSettings ?? new WatchSettings(),
            time);
        return informer.RunAsync(stoppingToken);
    }

    // The list and watch go through the client's HttpClient and credentials but decode with ip2service's own JSON
    // metadata (EndpointSliceJsonContext), never KubernetesClient's.
    private static readonly WatchDecoder<V1EndpointSlice> Decoder =
        WatchDecoder<V1EndpointSlice>.From(EndpointSliceJsonContext.Default.V1EndpointSlice, EndpointSliceJsonContext.Default.V1Status);

    private string Path => $"apis/discovery.k8s.io/v1/namespaces/{Uri.EscapeDataString(service.Namespace)}/endpointslices";

    // One page, as KubernetesClient's ListNamespacedEndpointSliceAsync asked for it (continue, labelSelector, limit).
    private async Task<V1EndpointSliceList> ListPageAsync(string? continueToken, int limit, CancellationToken cancellationToken)
    {
        var url = KubernetesHttp.Url(client.BaseUri, Path,
            [("continue", continueToken), ("labelSelector", service.LabelSelector), ("limit", limit.ToString(CultureInfo.InvariantCulture))]);
        using var response = await KubernetesHttp.SendAsync(client, HttpMethod.Get, url, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await JsonSerializer.DeserializeAsync(body, EndpointSliceJsonContext.Default.V1EndpointSliceList, cancellationToken)
            ?? throw new InvalidDataException($"The list of {Path} answered null.");
    }

    // The handler: the index is owned by the informer's single loop.
    ParsedSlice IResourceHandler<V1EndpointSlice, ParsedSlice>.Reduce(V1EndpointSlice item) => Parse(item);

    void IResourceHandler<V1EndpointSlice, ParsedSlice>.ReplaceAll(IReadOnlyList<ParsedSlice> items) => _index.ReplaceAll(items);

    void IResourceHandler<V1EndpointSlice, ParsedSlice>.Upsert(V1EndpointSlice item) => _index.Upsert(Parse(item));

    void IResourceHandler<V1EndpointSlice, ParsedSlice>.Remove(V1EndpointSlice item) => _index.Remove(item.Metadata?.Name ?? "");

    // The report: ip2service's own metric names and log lines.
    void IInformerReport.Listed(int objects, string resourceVersion, string reason)
    {
        Heard();
        Log.Listed(logger, service.ToString(), _index.Count, resourceVersion);
        Publish();
    }

    void IInformerReport.WatchStarted()
    {
        // Counted when a watch ends, by why it ended.
    }

    void IInformerReport.Heard() => Heard();

    void IInformerReport.Applied(WatchEventType type, IKubernetesObject<V1ObjectMeta> item)
    {
        Log.Changed(logger, type, item.Metadata?.Name ?? "", item.Metadata?.ResourceVersion ?? "");
        Publish();
    }

    void IInformerReport.WatchEnded(WatchPacer.Step step, Exception? error, bool wentIdle) =>
        metrics.WatchRestarts.WithLabels(step.RelistReason == "no_progress" ? "no_progress" : step.Label).Inc();

    void IInformerReport.ListFailed(WatchPacer.Step step, Exception error) =>
        metrics.WatchRestarts.WithLabels(WatchFailures.Classify(error).NeedsRelist() ? step.Label : "error").Inc();

    void IInformerReport.Degraded(string condition, string detail, Exception? error) =>
        Log.Degraded(logger, service.ToString(), condition, detail, error);

    void IInformerReport.Recovered() => Log.Recovered(logger, service.ToString());

    void IInformerReport.RelistRequested()
    {
        // The index never asks for one.
    }

    private void Heard() => Volatile.Write(ref _lastHeard, time.GetTimestamp());

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
