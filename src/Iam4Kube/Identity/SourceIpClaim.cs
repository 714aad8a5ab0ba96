using System.Net;
using Iam4Kube.Outcomes;
using Iam4Kube.Stores;

namespace Iam4Kube.Identity;

/// <summary>
/// The IMDS door's identifier: the caller is the one live pod that owns the connection's source IP. When the request
/// carried an IMDSv2 token issued to a pod, the owner must still be that pod (an IP reused by a new pod does not
/// inherit the old pod's session).
/// </summary>
internal readonly struct SourceIpClaim(PodIndex pods, IPAddress ip, string boundUid) : ICallerClaim
{
    public IPAddress Ip => ip;

    public Identification Identify()
    {
        var lookup = pods.Lookup(ip);
        if (lookup.Result != PodLookupResult.Found)
        {
            return lookup.Result == PodLookupResult.Ambiguous
                ? new Identification(Outcome.PodAmbiguous, Detail: $"more than one pod claims {ip} (a missed DELETE, or a new pod beside one being deleted)")
                : new Identification(Outcome.PodUnknown, Detail: $"no running pod has IP {ip}");
        }

        var pod = lookup.Pod!;
        return boundUid.Length > 0 && !string.Equals(boundUid, pod.Uid, StringComparison.Ordinal)
            ? new Identification(Outcome.TokenRejected, pod, $"the session token was issued to another pod than {pod.Name}")
            : Identification.Of(pod);
    }

    public IDisposable WatchForChange(out Task changed)
    {
        var subscription = pods.Changed.Subscribe(ip);
        changed = subscription.Changed;
        return subscription;
    }
}
