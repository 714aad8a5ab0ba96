using Iam4Kube.Stores;

namespace Iam4Kube.Observability;

/// <summary>Records what happened to a pod's requests where its owners look first: Events on the pod.</summary>
internal interface IPodEvents
{
    /// <summary>Never blocks and never throws: events are best effort and must not slow requests down.</summary>
    void Record(PodInfo pod, PodEventReason reason, string message);
}
