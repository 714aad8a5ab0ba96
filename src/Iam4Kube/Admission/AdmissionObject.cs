using System.Text.Json;

namespace Iam4Kube.Admission;

/// <summary>What the validating reviewers read of the object under review, kept as JSON (no typed model of every kind).</summary>
internal static class AdmissionObject
{
    /// <summary>A string property of <paramref name="element"/>, or null when absent or not a string.</summary>
    public static string? StringOf(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>
    /// The object's name for messages: the request's, else metadata.name, else metadata.generateName with "…" (a
    /// Deployment's pods are reviewed before they have a name).
    /// </summary>
    public static string NameOf(AdmissionRequest request)
    {
        if (request.Name is { Length: > 0 } given)
        {
            return given;
        }

        var metadata = request.Object.ValueKind == JsonValueKind.Object && request.Object.TryGetProperty("metadata", out var m) ? m : default;
        return StringOf(metadata, "name") ?? (StringOf(metadata, "generateName") is { } prefix ? prefix + "…" : "");
    }

    /// <summary>
    /// The annotations the object had before an UPDATE (from oldObject), or null when the request carries no old
    /// object. Both validating reviewers let an update through that keeps the role annotations as they were.
    /// </summary>
    public static Dictionary<string, string>? OldAnnotations(AdmissionRequest request) =>
        request.Operation == "UPDATE" && request.OldObject.ValueKind == JsonValueKind.Object && request.OldObject.TryGetProperty("metadata", out var old)
            ? Annotations(old)
            : null;

    /// <summary>metadata.annotations; kube-apiserver validated the object before calling, so every value is a string.</summary>
    public static Dictionary<string, string>? Annotations(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object || !metadata.TryGetProperty("annotations", out var annotations) || annotations.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var annotation in annotations.EnumerateObject())
        {
            if (annotation.Value.ValueKind == JsonValueKind.String)
            {
                result[annotation.Name] = annotation.Value.GetString()!;
            }
        }

        return result;
    }
}
