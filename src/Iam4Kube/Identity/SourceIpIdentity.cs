using System.Net;
using Iam4Kube.Stores;

namespace Iam4Kube.Identity;

/// <summary>Makes source-IP claims, and says who owns an IP right now without waiting (IMDSv2 token issue).</summary>
internal sealed class SourceIpIdentity(PodIndex pods)
{
    /// <summary>
    /// The claim of a request from <paramref name="ip"/>; <paramref name="boundUid"/> is the pod uid its IMDSv2 token
    /// was bound to, empty for IMDSv1 or a token issued before the pod was known.
    /// </summary>
    public SourceIpClaim Claim(IPAddress ip, string boundUid) => new(pods, ip, boundUid);

    /// <summary>The uid of the one live pod owning <paramref name="ip"/>, or null when none or several do.</summary>
    public string? OwnerUid(IPAddress ip) => Claim(ip, "").Identify() is { IsIdentified: true, Pod: { } pod } ? pod.Uid : null;
}
