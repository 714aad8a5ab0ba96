using k8s;
using k8s.Models;

namespace Iam4Kube.Watching;

/// <summary>
/// The one list/watch informer of both binaries (iam4kube's pods, ServiceAccounts, nodes and namespaces; ip2service's
/// EndpointSlices). Lists a resource, then watches it from the list's resourceVersion, resuming each new watch where
/// the last one ended, and reports the first sync. A watch never freezes the view unnoticed: every event and
/// BOOKMARK is a heartbeat, a watch silent for the idle timeout is replaced, and one that cannot make progress after
/// a few attempts (or answers 410 Gone, 504 ResourceVersionTooLarge, a 400/422 about the resourceVersion) leads to a
/// relist, spaced as client-go spaces them (<see cref="WatchPacer"/>). The store keeps its last state while the API
/// server is away; each proof of freshness goes to <see cref="IInformerReport.Heard"/>, so the binary can say how
/// old its view is. What the informer sees is applied by an <see cref="IResourceHandler{TItem,TKept}"/> and told,
/// in each binary's own metric names and log lines, to an <see cref="IInformerReport"/>.
/// </summary>
internal sealed class ResourceInformer<TItem, TList, TKept>(
    ResourceInformer<TItem, TList, TKept>.ListPage listPage,
    ResourceInformer<TItem, TList, TKept>.Watch watch,
    IResourceHandler<TItem, TKept> handler,
    IInformerReport report,
    WatchSettings settings,
    TimeProvider time,
    IRelistRequests? relist = null)
    where TItem : IKubernetesObject<V1ObjectMeta>
    where TList : IItems<TItem>, IMetadata<V1ListMeta>
    where TKept : class
{
    // As client-go's pager: one decoded page of realistic pods is ~7.5 MiB, and a list of 100,000 pods takes 200
    // requests.
    private const int PageSize = 500;

    // Relists a store asks for come at most this often, so a cluster that keeps contradicting itself cannot make
    // the binary hammer the API server.
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
                    report.RelistRequested();
                    await DelayAsync(MinRelistInterval - time.GetElapsedTime(_lastList), stoppingToken);
                    (resourceVersion, relistReason) = (null, "requested");
                    continue;
                }

                step = _pacer.AfterWatch(outcome.Heard, outcome.Lasted, outcome.Error, outcome.WentIdle);
                report.WatchEnded(step, outcome.Error, outcome.WentIdle);
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
                // Only lists throw here (a watch's errors come back in its outcome); the relist reason stays. Whatever
                // went wrong (API server down, RBAC, a bad kubeconfig), the store keeps its last state; keep trying.
                step = _pacer.AfterListFailure(e);
                report.ListFailed(step, e);
                Report(step, WatchFailures.Describe(e), e);
            }

            await DelayAsync(step.Delay, stoppingToken);
        }
    }

    private void Report(WatchPacer.Step step, string detail, Exception? error)
    {
        if (step.Degraded is { } condition)
        {
            report.Degraded(condition, detail, error);
        }
        else if (step.Recovered)
        {
            report.Recovered();
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
        _lastList = time.GetTimestamp();
        report.Listed(listed, next.ResourceVersion ?? "", reason);
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
        // watch heard from well within the idle timeout; the idle watchdog ends one that is not (a connection that
        // died without a FIN: no read timeout would ever notice, and the view would silently go stale).
        var timeoutSeconds = settings.NextWatchTimeoutSeconds();
        using var watchdog = new IdleWatchdog(settings.IdleTimeout, time, stoppingToken);
        using var relistRequested = relist?.Token.Register(static state => ((IdleWatchdog)state!).Expire(), watchdog);

        Exception? streamError = null;
        var heard = 0;
        var started = time.GetTimestamp();
        report.WatchStarted();
        try
        {
            // The stream reports an ERROR event (a Status, e.g. 410 Gone) or an undecodable line through onError.
            await foreach (var (type, item) in watch(resourceVersion, timeoutSeconds, e => streamError ??= e, watchdog.Token))
            {
                heard++;
                watchdog.Beat();
                report.Heard();
                switch (type)
                {
                    case WatchEventType.Added or WatchEventType.Modified:
                        handler.Upsert(item);
                        report.Applied(type, item);
                        break;
                    case WatchEventType.Deleted:
                        handler.Remove(item);
                        report.Applied(type, item);
                        break;
                    default:
                        // BOOKMARKs only move the resourceVersion on.
                        break;
                }

                resourceVersion = item.Metadata?.ResourceVersion ?? resourceVersion;
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
}
