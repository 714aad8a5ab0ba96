using System.Net;
using k8s.Models;

namespace Iam4Kube.Stores;

/// <summary>What iam4kube keeps of a pod: enough to find it by IP and to name its ServiceAccount and node.</summary>
internal sealed record PodInfo(NamespacedName Name, string Uid, string ServiceAccount, string? NodeName, IReadOnlyList<IPAddress> Ips)
{
    public NamespacedName ServiceAccountName => new(Name.Namespace, ServiceAccount);

    /// <summary>
    /// A pod's IPs count only while it can be the one using them: not hostNetwork (it shares the node's IP), not
    /// finished (its IP is free for reuse), not being deleted (the IP may already be handed to a new pod).
    /// Returns null for pods that claim no IP.
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
        var claims = pod.Spec?.HostNetwork != true
            && meta.DeletionTimestamp is null
            && pod.Status?.Phase is not ("Succeeded" or "Failed");
        return new PodInfo(name, uid, serviceAccount, pod.Spec?.NodeName, claims ? ParseIps(pod.Status) : []);
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
