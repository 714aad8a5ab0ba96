using Iam4Kube.Observability;
using Iam4Kube.Watching;
using k8s;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>
/// Lists a resource, then watches it from the list's resourceVersion, resuming each new watch where the last one
/// ended, and reports the first sync. A watch never freezes the view unnoticed: every event and BOOKMARK is a
/// heartbeat, a watch silent for the idle timeout is replaced, and one that cannot make progress after a few
/// attempts (or answers 410 Gone, 504 ResourceVersionTooLarge, a 400/422 about the resourceVersion) leads to a
/// relist, spaced as client-go spaces them. Each proof of freshness is recorded in <see cref="ViewFreshness"/>.
/// The store keeps its last state while the API server is away; the view's age says how much to trust it.
/// </summary>
internal sealed partial class ResourceInformer<TItem, TList, TKept>(
    string resource,
    ResourceInformer<TItem, TList, TKept>.ListPage listPage,
    ResourceInformer<TItem, TList, TKept>.Watch watch,
    IResourceHandler<TItem, TKept> handler,
    WatchSettings settings,
    ViewFreshness freshness,
    Iam4KubeMetrics metrics,
    TimeProvider time,
    ILogger logger,
    RelistSignal? relist = null)
    where TItem : IKubernetesObject<V1ObjectMeta>
    where TList : IItems<TItem>, IMetadata<V1ListMeta>
    where TKept : class
{
    // As client-go's pager: one decoded page of realistic pods is ~7.5 MiB, and a list of 100,000 pods takes 200
    // requests.
    private const int PageSize = 500;

    // Relists a store asks for come at most this often, so a cluster that keeps contradicting itself cannot make
    // iam4kube hammer the API server.
    private static readonly TimeSpan MinRelistInterval = TimeSpan.FromMilliseconds(200);

    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly WatchPacer _pacer = new(settings);
    private long _lastList;

    public delegate Task<TList> ListPage(string? continueToken, int limit, CancellationToken cancellationToken);

    public delegate IAsyncEnumerable<(WatchEventType Type, TItem Item)> Watch(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken);

    /// <summary>Completes once the first full list has been applied.</summary>
    public Task Synced => _synced.Task;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        string? resourceVersion = null;
        var relistReason = "initial";
        while (!stoppingToken.IsCancellationRequested)
        {
            WatchPacer.Step step;
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(relistReason, stoppingToken);
                    _pacer.Listed();
                }

                var outcome = await WatchAsync(resourceVersion, stoppingToken);
                resourceVersion = outcome.ResourceVersion;
                if (relist?.TryConsume() == true)
                {
                    _pacer.EndedForRelist(outcome.Heard);
                    Log.RelistRequested(logger, resource);
                    await DelayAsync(MinRelistInterval - time.GetElapsedTime(_lastList), stoppingToken);
                    (resourceVersion, relistReason) = (null, "requested");
                    continue;
                }

                step = _pacer.AfterWatch(outcome.Heard, outcome.Lasted, outcome.Error, outcome.WentIdle);
                if (outcome.Error is not null)
                {
                    metrics.WatchErrors.WithLabels(resource).Inc();
                }
                else if (outcome.WentIdle)
                {
                    metrics.IdleWatches.WithLabels(resource).Inc();
                }

                Report(step, outcome.Error is { } e ? WatchFailures.Describe(e) : $"no event and no BOOKMARK for {settings.IdleTimeout.TotalSeconds:0.#}s", outcome.Error);
                if (step.RelistReason is { } reason)
                {
                    (resourceVersion, relistReason) = (null, reason);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Only lists throw here (a watch's errors come back in its outcome); the relist reason stays.
                metrics.WatchErrors.WithLabels(resource).Inc();
                step = _pacer.AfterListFailure(e);
                Report(step, WatchFailures.Describe(e), e);
            }

            await DelayAsync(step.Delay, stoppingToken);
        }
    }

    private void Report(WatchPacer.Step step, string detail, Exception? error)
    {
        if (step.Degraded is { } condition)
        {
            Log.Degraded(logger, resource, condition, detail, error);
        }
        else if (step.Recovered)
        {
            Log.Recovered(logger, resource);
        }
    }

    private async Task<string> ListAsync(string reason, CancellationToken cancellationToken)
    {
        // Each page is reduced to what the store keeps as it arrives and then dropped, so a list holds what the
        // store keeps of every object plus one decoded page, not every decoded object until the list is complete.
        // The store is replaced only once the list is: objects missing from it are removed then, as before.
        var kept = new List<TKept>();
        var listed = 0;
        var next = default(Continuation);
        do
        {
            using var pageTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            pageTimeout.CancelAfter(settings.ListPageTimeout);
            // Passed on as it is awaited: no local of the async method keeps the page alive while the next one
            // is fetched.
            next = Keep(await listPage(next.Token, PageSize, pageTimeout.Token), kept);
            listed += next.Listed;
        }
        while (!string.IsNullOrEmpty(next.Token));

        handler.ReplaceAll(kept);
        freshness.Touch(resource);
        _lastList = time.GetTimestamp();
        metrics.Relists.WithLabels(resource, reason).Inc();
        Log.Listed(logger, resource, listed, next.ResourceVersion ?? "", reason);
        _synced.TrySetResult();
        return next.ResourceVersion ?? "0";
    }

    private Continuation Keep(TList page, List<TKept> kept)
    {
        var items = page.Items ?? [];
        foreach (var item in items)
        {
            if (handler.Reduce(item) is { } reduced)
            {
                kept.Add(reduced);
            }
        }

        return new Continuation(page.Metadata?.ContinueProperty, page.Metadata?.ResourceVersion, items.Count);
    }

    private async Task<WatchOutcome> WatchAsync(string resourceVersion, CancellationToken stoppingToken)
    {
        // A short server-side timeout (kube-apiserver sends a BOOKMARK about 2 s before it) keeps a healthy quiet
        // watch heard from well within the idle timeout; the idle watchdog ends one that is not.
        var timeoutSeconds = settings.NextWatchTimeoutSeconds();
        using var watchdog = new IdleWatchdog(settings.IdleTimeout, time, stoppingToken);
        using var relistRequested = relist?.Token.Register(static state => ((IdleWatchdog)state!).Expire(), watchdog);

        Exception? streamError = null;
        var heard = 0;
        var started = time.GetTimestamp();
        metrics.WatchRestarts.WithLabels(resource).Inc();
        try
        {
            await foreach (var (type, item) in watch(resourceVersion, timeoutSeconds, e => streamError ??= e, watchdog.Token))
            {
                heard++;
                watchdog.Beat();
                freshness.Touch(resource);
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
            // The watchdog (idle, or a relist was requested).
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            streamError ??= e;
        }

        return new WatchOutcome(resourceVersion, heard, time.GetElapsedTime(started), streamError, watchdog.WentIdle && streamError is null);
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

    // Where a list goes on (Token: the continue token, none after the last page) and how many objects a page held.
    private readonly record struct Continuation(string? Token, string? ResourceVersion, int Listed);

    // Heard: events and BOOKMARKs received, the proof that the watch was alive.
    private readonly record struct WatchOutcome(string ResourceVersion, int Heard, TimeSpan Lasted, Exception? Error, bool WentIdle);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Listed {Resource}: {Count} objects at resourceVersion {ResourceVersion} (reason: {Reason})")]
        public static partial void Listed(ILogger logger, string resource, int count, string resourceVersion, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Watching {Resource} is degraded ({Condition}): {Detail}; serving the last known state while it lasts, retrying with backoff")]
        public static partial void Degraded(ILogger logger, string resource, string condition, string detail, Exception? exception);

        [LoggerMessage(4, LogLevel.Information, "Watching {Resource} works again")]
        public static partial void Recovered(ILogger logger, string resource);

        [LoggerMessage(5, LogLevel.Warning, "The {Resource} store saw evidence of a missed event (two live pods claiming one IP); relisting")]
        public static partial void RelistRequested(ILogger logger, string resource);
    }
}
