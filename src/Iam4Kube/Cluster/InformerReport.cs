using Iam4Kube.Observability;
using Iam4Kube.Watching;
using k8s;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>
/// What one of iam4kube's informers tells: the iam4kube_watch_* and iam4kube_relists_total metrics labelled with
/// the resource, the view's freshness (<see cref="ViewFreshness"/>, --max-view-age) and the informer's log lines.
/// </summary>
internal sealed partial class InformerReport(string resource, ViewFreshness freshness, Iam4KubeMetrics metrics, ILogger logger) : IInformerReport
{
    public void Listed(int objects, string resourceVersion, string reason)
    {
        freshness.Touch(resource);
        metrics.Relists.WithLabels(resource, reason).Inc();
        Log.Listed(logger, resource, objects, resourceVersion, reason);
    }

    public void WatchStarted() => metrics.WatchRestarts.WithLabels(resource).Inc();

    public void Heard()
    {
        freshness.Touch(resource);
        metrics.WatchEvents.WithLabels(resource).Inc();
    }

    public void Applied(WatchEventType type, IKubernetesObject<V1ObjectMeta> item)
    {
        // Counted with every event and BOOKMARK (Heard); the stores log what matters to them.
    }

    public void WatchEnded(WatchPacer.Step step, Exception? error, bool wentIdle)
    {
        if (error is not null)
        {
            metrics.WatchErrors.WithLabels(resource).Inc();
        }
        else if (wentIdle)
        {
            metrics.IdleWatches.WithLabels(resource).Inc();
        }
    }

    public void ListFailed(WatchPacer.Step step, Exception error) => metrics.WatchErrors.WithLabels(resource).Inc();

    public void Degraded(string condition, string detail, Exception? error) => Log.Degraded(logger, resource, condition, detail, error);

    public void Recovered() => Log.Recovered(logger, resource);

    public void RelistRequested() => Log.RelistRequested(logger, resource);

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
