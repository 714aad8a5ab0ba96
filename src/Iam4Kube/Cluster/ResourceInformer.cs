using System.Net;
using Iam4Kube.Observability;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>
/// Lists a resource, then watches it from the list's resourceVersion, resuming each new watch where the last one
/// ended. Relists on 410 Gone (history compacted), backs off with jitter on errors, and reports the first sync.
/// The store keeps serving its last state while the API server is away.
/// </summary>
internal sealed partial class ResourceInformer<TItem, TList>(
    string resource,
    ResourceInformer<TItem, TList>.ListPage listPage,
    ResourceInformer<TItem, TList>.Watch watch,
    IResourceHandler<TItem> handler,
    Iam4KubeMetrics metrics,
    TimeProvider time,
    ILogger logger,
    RelistSignal? relist = null)
    where TItem : IKubernetesObject<V1ObjectMeta>
    where TList : IItems<TItem>, IMetadata<V1ListMeta>
{
    private const int PageSize = 500;
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    // Relists a store asks for come at most this often, so a cluster that keeps contradicting itself cannot make
    // iam4kube hammer the API server.
    private static readonly TimeSpan MinRelistInterval = TimeSpan.FromMilliseconds(200);
    private long _lastList;

    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public delegate Task<TList> ListPage(string? continueToken, int limit, CancellationToken cancellationToken);

    public delegate IAsyncEnumerable<(WatchEventType Type, TItem Item)> Watch(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken);

    public string Resource => resource;

    /// <summary>Completes once the first full list has been applied.</summary>
    public Task Synced => _synced.Task;

    public bool IsSynced => _synced.Task.IsCompleted;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        string? resourceVersion = null;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(stoppingToken);
                    failures = 0;
                }

                var outcome = await WatchAsync(resourceVersion, stoppingToken);
                resourceVersion = outcome.ResourceVersion;
                if (relist?.TryConsume() == true)
                {
                    Log.RelistRequested(logger, resource);
                    await DelayAsync(MinRelistInterval - time.GetElapsedTime(_lastList), stoppingToken);
                    resourceVersion = null;
                    continue;
                }

                switch (outcome.End)
                {
                    case WatchEnd.Expired:
                        Log.HistoryExpired(logger, resource, resourceVersion);
                        resourceVersion = null;
                        continue;
                    case WatchEnd.Closed when outcome.Events > 0 || outcome.Lasted > TimeSpan.FromSeconds(1):
                        failures = 0;
                        continue;
                    case WatchEnd.Closed:
                        // An empty stream that ends at once is usually a server in trouble: do not spin.
                        failures++;
                        break;
                    case WatchEnd.Failed:
                        // A watch that worked for a while and then broke (a dropped connection) is not a failing
                        // server: resume quickly. Only failures in a row grow the backoff.
                        failures = outcome.Events > 0 || outcome.Lasted > TimeSpan.FromSeconds(1) ? 1 : failures + 1;
                        metrics.WatchErrors.WithLabels(resource).Inc();
                        Log.WatchFailed(logger, resource, outcome.Error!.Message, outcome.Error);
                        break;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (IsGone(e))
            {
                Log.HistoryExpired(logger, resource, resourceVersion ?? "");
                resourceVersion = null;
                continue;
            }
            catch (Exception e)
            {
                failures++;
                metrics.WatchErrors.WithLabels(resource).Inc();
                Log.ListOrWatchFailed(logger, resource, failures, e.Message, e);
            }

            await DelayAsync(BackoffFor(failures), stoppingToken);
        }
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<TItem>();
        string? continueToken = null;
        string? resourceVersion;
        do
        {
            var page = await listPage(continueToken, PageSize, cancellationToken);
            items.AddRange(page.Items ?? []);
            continueToken = page.Metadata?.ContinueProperty;
            resourceVersion = page.Metadata?.ResourceVersion;
        }
        while (!string.IsNullOrEmpty(continueToken));

        handler.ReplaceAll(items);
        _lastList = time.GetTimestamp();
        metrics.Relists.WithLabels(resource).Inc();
        Log.Listed(logger, resource, items.Count, resourceVersion ?? "");
        _synced.TrySetResult();
        return resourceVersion ?? "0";
    }

    private async Task<WatchOutcome> WatchAsync(string resourceVersion, CancellationToken stoppingToken)
    {
        // Like client-go: the server ends each watch after 5-10 minutes, and a watchdog ends a watch that went
        // silent (a peer that vanished without closing the connection) a minute after that.
        var timeoutSeconds = Random.Shared.Next(300, 600);
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        watchdog.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds + 60));
        using var relistRequested = relist?.Token.Register(() => watchdog.Cancel());

        Exception? streamError = null;
        var events = 0;
        var started = time.GetTimestamp();
        metrics.WatchRestarts.WithLabels(resource).Inc();
        try
        {
            await foreach (var (type, item) in watch(resourceVersion, timeoutSeconds, e => streamError ??= e, watchdog.Token))
            {
                events++;
                switch (type)
                {
                    case WatchEventType.Added or WatchEventType.Modified:
                        handler.Upsert(item);
                        break;
                    case WatchEventType.Deleted:
                        handler.Remove(item);
                        break;
                }

                resourceVersion = item.Metadata?.ResourceVersion ?? resourceVersion;
                metrics.WatchEvents.WithLabels(resource).Inc();
            }
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return new WatchOutcome(WatchEnd.Closed, resourceVersion, events, time.GetElapsedTime(started), null);
        }
        catch (Exception e) when (!IsGone(e) && e is not OperationCanceledException)
        {
            streamError ??= e;
        }

        return streamError switch
        {
            null => new WatchOutcome(WatchEnd.Closed, resourceVersion, events, time.GetElapsedTime(started), null),
            _ when IsGone(streamError) => new WatchOutcome(WatchEnd.Expired, resourceVersion, events, time.GetElapsedTime(started), streamError),
            _ => new WatchOutcome(WatchEnd.Failed, resourceVersion, events, time.GetElapsedTime(started), streamError),
        };
    }

    private static bool IsGone(Exception e) => e switch
    {
        KubernetesException k => k.Status?.Code == (int)HttpStatusCode.Gone,
        HttpOperationException h => h.Response?.StatusCode == HttpStatusCode.Gone,
        _ => false,
    };

    private static TimeSpan BackoffFor(int failures)
    {
        if (failures <= 0)
        {
            return TimeSpan.Zero;
        }

        var ceiling = Math.Min(MaxBackoff.TotalMilliseconds, MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16)));
        // Equal jitter: at least half the ceiling, so retries from many replicas spread but never spin.
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }

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
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private enum WatchEnd
    {
        Closed,
        Expired,
        Failed,
    }

    private readonly record struct WatchOutcome(WatchEnd End, string ResourceVersion, int Events, TimeSpan Lasted, Exception? Error);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Listed {Resource}: {Count} objects at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string resource, int count, string resourceVersion);

        [LoggerMessage(2, LogLevel.Information, "Watch of {Resource} from resourceVersion {ResourceVersion} expired (410 Gone); relisting")]
        public static partial void HistoryExpired(ILogger logger, string resource, string resourceVersion);

        [LoggerMessage(3, LogLevel.Warning, "Watch of {Resource} failed: {Reason}; resuming after backoff")]
        public static partial void WatchFailed(ILogger logger, string resource, string reason, Exception exception);

        [LoggerMessage(5, LogLevel.Warning, "The {Resource} store saw evidence of a missed event (two live pods claiming one IP); relisting")]
        public static partial void RelistRequested(ILogger logger, string resource);

        [LoggerMessage(4, LogLevel.Warning, "List or watch of {Resource} failed ({Failures} in a row): {Reason}; serving the last known state and retrying")]
        public static partial void ListOrWatchFailed(ILogger logger, string resource, int failures, string reason, Exception exception);
    }
}
