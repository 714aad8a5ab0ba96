using k8s;
using k8s.Models;

namespace Iam4Kube.Watching;

/// <summary>
/// What a <see cref="ResourceInformer{TItem,TList,TKept}"/> tells its binary, which says it in its own words: iam4kube
/// and ip2service name their metrics and log lines differently (docs/metrics.md), and the shared informer must not
/// change either.
/// </summary>
internal interface IInformerReport
{
    /// <summary>A full list was applied to the store (<paramref name="reason"/>: initial, requested, or the pacer's
    /// relist reason): the view is up to date now.</summary>
    void Listed(int objects, string resourceVersion, string reason);

    /// <summary>A new watch starts.</summary>
    void WatchStarted();

    /// <summary>A watch event or BOOKMARK arrived: the view is up to date now. Called before the event is applied.</summary>
    void Heard();

    /// <summary>An ADDED, MODIFIED or DELETED event was applied to the store (not a BOOKMARK).</summary>
    void Applied(WatchEventType type, IKubernetesObject<V1ObjectMeta> item);

    /// <summary>A watch ended (not for a requested relist); <paramref name="step"/> is what comes next.</summary>
    void WatchEnded(WatchPacer.Step step, Exception? error, bool wentIdle);

    /// <summary>A list failed; <paramref name="step"/> is what comes next.</summary>
    void ListFailed(WatchPacer.Step step, Exception error);

    /// <summary>The watch's condition changed for the worse (logged once per change, not per attempt).</summary>
    void Degraded(string condition, string detail, Exception? error);

    /// <summary>The watch works again after being degraded.</summary>
    void Recovered();

    /// <summary>The store asked for a relist (<see cref="IRelistRequests"/>).</summary>
    void RelistRequested();
}
