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
internal sealed partial class ResourceInformer<TItem, TList>(
    string resource,
    ResourceInformer<TItem, TList>.ListPage listPage,
    ResourceInformer<TItem, TList>.Watch watch,
    IResourceHandler<TItem> handler,
    WatchSettings settings,
    ViewFreshness freshness,
    Iam4KubeMetrics metrics,
    TimeProvider time,
    ILogger logger,
    RelistSignal? relist = null)
    where TItem : IKubernetesObject<V1ObjectMeta>
    where TList : IItems<TItem>, IMetadata<V1ListMeta>
{
    private const int PageSize = 500;

    // Relists a store asks for come at most this often, so a cluster that keeps contradicting itself cannot make
    // iam4kube hammer the API server.
    private static readonly TimeSpan MinRelistInterval = TimeSpan.FromMilliseconds(200);

    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Backoff _backoff = new(settings.InitialBackoff, settings.MaxBackoff);
    private long _lastList;
    private long _lastFailure;
    private string _condition = "healthy";

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
        var relistReason = "initial";
        var fruitless = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(relistReason, stoppingToken);
                    fruitless = 0;
                }

                var outcome = await WatchAsync(resourceVersion, stoppingToken);
                resourceVersion = outcome.ResourceVersion;
                if (relist?.TryConsume() == true)
                {
                    Log.RelistRequested(logger, resource);
                    await DelayAsync(MinRelistInterval - time.GetElapsedTime(_lastList), stoppingToken);
                    (resourceVersion, relistReason) = (null, "requested");
                    continue;
                }

                if (outcome.Heard > 0)
                {
                    fruitless = 0;
                    if (time.GetElapsedTime(_lastFailure) >= settings.HealthyAfter)
                    {
                        _backoff.Reset();
                    }
                }

                switch (outcome)
                {
                    case { Error: { } error }:
                        var failure = WatchFailures.Classify(error);
                        metrics.WatchErrors.WithLabels(resource).Inc();
                        Failing(failure.Label(), WatchFailures.Describe(error), error);
                        if (failure.NeedsRelist())
                        {
                            // Resuming from this resourceVersion can never work: list again, spaced like client-go.
                            (resourceVersion, relistReason) = (null, failure.Label());
                            delay = _backoff.Next();
                        }
                        else if (failure.IsOutage())
                        {
                            // A dropped connection or an API server that is down: the watch resumes from where it
                            // was once the server answers (a relist would be a full list for nothing).
                            delay = OutageDelay();
                        }
                        else
                        {
                            delay = NoProgress(outcome, ref fruitless, ref resourceVersion, ref relistReason);
                        }

                        break;
                    case { WentIdle: true }:
                        metrics.IdleWatches.WithLabels(resource).Inc();
                        Failing("idle", $"no event and no BOOKMARK for {settings.IdleTimeout.TotalSeconds:0.#}s", null);
                        // The connection is dead or the server stalled: a new watch at once, a relist if that keeps happening.
                        delay = outcome.Heard > 0 ? TimeSpan.Zero : NoProgress(outcome, ref fruitless, ref resourceVersion, ref relistReason, backoff: false);
                        break;
                    case { Heard: > 0 }:
                        Healthy();
                        delay = TimeSpan.Zero;
                        break;
                    default:
                        // Closed with nothing at all: a server in trouble if it ends at once (back off); one that
                        // lasted its timeout without even the pre-timeout BOOKMARK is not proof of life either.
                        delay = NoProgress(outcome, ref fruitless, ref resourceVersion, ref relistReason,
                            backoff: outcome.Lasted < settings.IdleTimeout / 4);
                        break;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Only lists throw here (a watch's errors come back in its outcome).
                var failure = WatchFailures.Classify(e);
                metrics.WatchErrors.WithLabels(resource).Inc();
                Failing("list_" + failure.Label(), WatchFailures.Describe(e), e);
                delay = failure.IsOutage() ? OutageDelay() : _backoff.Next();
            }

            await DelayAsync(delay, stoppingToken);
        }
    }

    /// <summary>A watch that brought nothing: retry it with backoff; after a few in a row, relist instead.</summary>
    private TimeSpan NoProgress(WatchOutcome outcome, ref int fruitless, ref string? resourceVersion, ref string relistReason, bool backoff = true)
    {
        if (outcome.Heard > 0)
        {
            return backoff ? _backoff.Next() : TimeSpan.Zero;
        }

        if (++fruitless >= settings.FruitlessWatchesBeforeRelist)
        {
            (resourceVersion, relistReason, fruitless) = (null, "no_progress", 0);
            return _backoff.Next();
        }

        return backoff ? _backoff.Next() : TimeSpan.Zero;
    }

    private TimeSpan OutageDelay() => settings.OutageRetry * (0.5 + (Random.Shared.NextDouble() * 0.5));

    private void Failing(string condition, string detail, Exception? error)
    {
        _lastFailure = time.GetTimestamp();
        if (condition == _condition)
        {
            // One line per change of state, not one per attempt: a persistent fault must not flood the logs.
            return;
        }

        _condition = condition;
        Log.Degraded(logger, resource, condition, detail, error);
    }

    private void Healthy()
    {
        if (_condition != "healthy")
        {
            _condition = "healthy";
            Log.Recovered(logger, resource);
        }
    }

    private async Task<string> ListAsync(string reason, CancellationToken cancellationToken)
    {
        var items = new List<TItem>();
        string? continueToken = null;
        string? resourceVersion;
        do
        {
            using var pageTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            pageTimeout.CancelAfter(settings.ListPageTimeout);
            var page = await listPage(continueToken, PageSize, pageTimeout.Token);
            items.AddRange(page.Items ?? []);
            continueToken = page.Metadata?.ContinueProperty;
            resourceVersion = page.Metadata?.ResourceVersion;
        }
        while (!string.IsNullOrEmpty(continueToken));

        handler.ReplaceAll(items);
        freshness.Touch(resource);
        _lastList = time.GetTimestamp();
        metrics.Relists.WithLabels(resource, reason).Inc();
        Log.Listed(logger, resource, items.Count, resourceVersion ?? "", reason);
        _synced.TrySetResult();
        return resourceVersion ?? "0";
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

        [LoggerMessage(5, LogLevel.Warning, "The {Resource} store saw evidence of a missed event or asked to settle an ambiguous IP; relisting")]
        public static partial void RelistRequested(ILogger logger, string resource);
    }
}
