using k8s.Models;

namespace Iam4Kube.Stores;

/// <summary>The placement of a node, from its well-known topology labels.</summary>
internal sealed record NodeInfo(string Name, string? Region, string? Zone)
{
    public const string RegionLabel = "topology.kubernetes.io/region";
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    // Older clusters still carry only the deprecated labels.
    private const string LegacyRegionLabel = "failure-domain.beta.kubernetes.io/region";
    private const string LegacyZoneLabel = "failure-domain.beta.kubernetes.io/zone";

    public static NodeInfo? FromNode(V1Node node)
    {
        if (node.Metadata?.Name is not { } name)
        {
            return null;
        }

        var labels = node.Metadata.Labels;
        return new NodeInfo(name, Label(labels, RegionLabel, LegacyRegionLabel), Label(labels, ZoneLabel, LegacyZoneLabel));
    }

    private static string? Label(IDictionary<string, string>? labels, string key, string legacyKey)
    {
        if (labels is null)
        {
            return null;
        }

        return labels.TryGetValue(key, out var value) && value.Length > 0 ? value
            : labels.TryGetValue(legacyKey, out value) && value.Length > 0 ? value
            : null;
    }
}
