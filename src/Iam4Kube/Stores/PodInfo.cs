using System.Net;
using Iam4Kube.Roles;
using k8s.Models;

namespace Iam4Kube.Stores;

/// <summary>
/// What iam4kube keeps of a pod: enough to find it by IP and to name its ServiceAccount and node.
/// <see cref="Unclaimed"/> says why a pod claims no IP (hostNetwork, finished), for explain. <see cref="Terminating"/>
/// marks a pod being deleted: it still claims its IP (its containers run their grace period and may need credentials),
/// but yields it to any other claimant (<see cref="PodIndex"/>). <see cref="Ending"/> (being deleted or finished) is what
/// the token door refuses: its caller must be a live pod, whatever its IP.
/// </summary>
internal sealed record PodInfo(NamespacedName Name, string Uid, string ServiceAccount, string? NodeName, IReadOnlyList<IPAddress> Ips, string? Unclaimed = null,
    bool Terminating = false, bool Ending = false)
{
    public NamespacedName ServiceAccountName => new(Name.Namespace, ServiceAccount);

    /// <summary>
    /// The pod's kube2iam/kiam role annotations (<c>iam.amazonaws.com/role</c>, <c>iam.amazonaws.com/external-id</c>),
    /// read only in compatibility mode (--pod-annotations); null when it has neither. Only these two are kept of a
    /// pod's annotations: the index holds every pod of the cluster.
    /// </summary>
    public PodRoleValues? RoleAnnotations { get; init; }

    /// <summary>
    /// A pod's IPs count only while it can be the one using them: not hostNetwork (it shares the node's IP), not
    /// finished (its IP is free for reuse). A pod being deleted still runs (preStop hooks, a last flush to S3), so it
    /// keeps its IPs, marked <see cref="Terminating"/>: the IP may already be handed to a new pod, and the index
    /// then answers nothing rather than guess. Returns null for pods without a name.
    /// </summary>
    public static PodInfo? FromPod(V1Pod pod)
    {
        var meta = pod.Metadata;
        if (meta?.Name is null || meta.NamespaceProperty is null)
        {
            return null;
        }

        var name = new NamespacedName(meta.NamespaceProperty, meta.Name);
        var uid = string.IsNullOrEmpty(meta.Uid) ? name.ToString() : meta.Uid;
        var serviceAccount = string.IsNullOrEmpty(pod.Spec?.ServiceAccountName) ? "default" : pod.Spec.ServiceAccountName;
        var unclaimed = pod.Spec?.HostNetwork == true ? "hostNetwork: it shares its node's IP"
            : pod.Status?.Phase is "Succeeded" or "Failed" ? $"finished ({pod.Status.Phase}): its IP is free for reuse"
            : null;
        var ips = unclaimed is null ? ParseIps(pod.Status) : [];
        // Ending: a token door caller must be a live pod (hostNetwork pods included, being deleted or finished not).
        var terminating = meta.DeletionTimestamp is not null;
        var ending = terminating || pod.Status?.Phase is "Succeeded" or "Failed";
        return new PodInfo(name, uid, serviceAccount, pod.Spec?.NodeName, ips, unclaimed ?? (ips.Length == 0 ? "no IP assigned yet" : null),
            terminating, ending)
        {
            RoleAnnotations = PodRoleAnnotations.Read(meta.Annotations),
        };
    }

    private static IPAddress[] ParseIps(V1PodStatus? status)
    {
        if (status is null)
        {
            return [];
        }

        var texts = status.PodIPs is { Count: > 0 } podIps
            ? podIps.Select(p => p.Ip)
            : [status.PodIP];
        return [.. texts
            .Select(t => IPAddress.TryParse(t, out var ip) ? Normalize(ip) : null)
            .OfType<IPAddress>()
            .Distinct()];
    }

    /// <summary>IPv4-mapped IPv6 addresses (how a dual-stack socket reports IPv4 peers) become plain IPv4.</summary>
    public static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
}
