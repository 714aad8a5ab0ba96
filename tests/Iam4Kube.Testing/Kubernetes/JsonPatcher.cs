using System.Net;
using System.Text.Json.Nodes;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// The one PATCH body the product sends (iam4kube raising an Event's count): JSON merge patch (RFC 7386). kube-apiserver
/// also takes JSON patch and strategic merge patch; the fake answers those 415, as kube-apiserver does for a format it
/// does not know, so that a product change to another kind of patch fails loudly here instead of half-working.
/// </summary>
internal static class JsonPatcher
{
    public const string MergePatch = "application/merge-patch+json";

    public static JsonNode? Apply(string contentType, JsonNode target, JsonNode? patch) =>
        contentType.Split(';')[0].Trim() == MergePatch
            ? Merge(target, patch)
            : throw new ApiStatusException(
                HttpStatusCode.UnsupportedMediaType,
                "UnsupportedMediaType",
                $"the body of the request was in an unknown format - accepted media types include: {MergePatch}");

    private static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? [];
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                var merged = Merge(result[name], value);
                result.Remove(name);
                result[name] = merged;
            }
        }

        return result;
    }
}
