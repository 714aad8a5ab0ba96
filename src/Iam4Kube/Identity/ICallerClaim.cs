namespace Iam4Kube.Identity;

/// <summary>
/// What a request presents as evidence of who it is, and how to tell whether that evidence now names a pod. The
/// source IP (with an IMDSv2 token's pod binding) is one identifier; a verified ServiceAccount token naming a pod
/// uid would be another, implementing this interface without touching the stages behind it.
/// </summary>
/// <remarks>Implemented by structs and used as a generic constraint, so the warm path allocates nothing.</remarks>
internal interface ICallerClaim
{
    /// <summary>One non-blocking attempt against the current cluster view.</summary>
    Identification Identify();

    /// <summary>
    /// Subscribes to the event that could change <see cref="Identify"/>'s answer. Subscribe before re-checking: an
    /// event between the check and the wait still wakes the waiter.
    /// </summary>
    IDisposable WatchForChange(out Task changed);
}
