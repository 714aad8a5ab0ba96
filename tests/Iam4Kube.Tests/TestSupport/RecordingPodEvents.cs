using System.Collections.Concurrent;
using Iam4Kube.Observability;
using Iam4Kube.Stores;

namespace Iam4Kube.Tests.TestSupport;

/// <summary>Records the Events iam4kube would write on pods.</summary>
internal sealed class RecordingPodEvents : IPodEvents
{
    public ConcurrentQueue<(PodInfo Pod, PodEventReason Reason, string Message)> Recorded { get; } = new();

    public void Record(PodInfo pod, PodEventReason reason, string message) => Recorded.Enqueue((pod, reason, message));
}
