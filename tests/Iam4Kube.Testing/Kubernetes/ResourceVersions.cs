using System.Globalization;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>resourceVersions are opaque strings on the wire; here they are etcd-like revisions.</summary>
internal static class ResourceVersions
{
    public static string Format(long resourceVersion) => resourceVersion.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a resourceVersion parameter; empty means "unset".</summary>
    public static long? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw ApiStatusException.BadRequest($"invalid resource version: \"{value}\"");
    }
}
