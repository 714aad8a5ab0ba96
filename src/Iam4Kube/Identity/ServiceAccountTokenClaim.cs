using Iam4Kube.Outcomes;
using Iam4Kube.PodIdentity;
using Iam4Kube.Stores;

namespace Iam4Kube.Identity;

/// <summary>
/// The token door's identifier: a ServiceAccount token the API server verified names a pod uid, and the caller is
/// that pod only while the index has it live (not being deleted, not finished) with the token's name and
/// ServiceAccount. No IP is looked at: hostNetwork pods qualify, and a pod's former IP means nothing.
/// </summary>
internal readonly struct ServiceAccountTokenClaim(PodIndex pods, VerifiedToken token) : ICallerClaim
{
    public Identification Identify()
    {
        if (pods.ByUid(token.PodUid) is not { } pod)
        {
            // Unknown may mean "not seen yet" (the watch lags the kubelet's TokenRequest): wait for it.
            return new Identification(Outcome.PodUnknown, Detail: $"no live pod {token.Namespace}/{token.PodName} with uid {token.PodUid} is known");
        }

        if (pod.Name != new NamespacedName(token.Namespace, token.PodName) || !string.Equals(pod.ServiceAccount, token.ServiceAccount, StringComparison.Ordinal))
        {
            return new Identification(Outcome.TokenPodGone, pod,
                $"the token names pod {token.Namespace}/{token.PodName} of ServiceAccount {token.ServiceAccount}, but uid {token.PodUid} is pod {pod.Name} of {pod.ServiceAccount}");
        }

        return pod.Ending
            ? new Identification(Outcome.TokenPodGone, pod, $"pod {pod.Name} is being deleted or has finished: its tokens no longer count")
            : Identification.Of(pod);
    }

    public IDisposable WatchForChange(out Task changed)
    {
        var subscription = pods.UidChanged.Subscribe(token.PodUid);
        changed = subscription.Changed;
        return subscription;
    }
}
