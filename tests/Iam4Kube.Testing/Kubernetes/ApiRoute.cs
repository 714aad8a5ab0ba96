namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// A resource path as kube-apiserver routes it: <c>/api/v1/[namespaces/{ns}/]{plural}[/{name}]</c> and
/// <c>/apis/{group}/{version}/...</c>. The product uses no subresource: those are 404 here.
/// </summary>
internal sealed record ApiRoute(ResourceKind Kind, string? Namespace, string? Name)
{
    public static ApiRoute? Parse(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string group, version;
        string[] rest;
        if (segments.Length >= 2 && segments[0] == "api")
        {
            (group, version, rest) = (string.Empty, segments[1], segments[2..]);
        }
        else if (segments.Length >= 3 && segments[0] == "apis")
        {
            (group, version, rest) = (segments[1], segments[2], segments[3..]);
        }
        else
        {
            return null;
        }

        string? @namespace = null;
        if (rest.Length >= 3 && rest[0] == "namespaces" && ResourceKinds.Find(group, version, rest[2]) is { Namespaced: true })
        {
            @namespace = rest[1];
            rest = rest[2..];
        }

        if (rest.Length is 0 or > 2 || ResourceKinds.Find(group, version, rest[0]) is not { } kind)
        {
            return null;
        }

        var name = rest.Length > 1 ? rest[1] : null;
        if ((kind.Namespaced && name is not null && @namespace is null) || (!kind.Namespaced && @namespace is not null))
        {
            return null;
        }

        return new ApiRoute(kind, @namespace, name);
    }
}
