namespace Iam4Kube.Testing.Kubernetes;

/// <summary>A request the fake API server received, as the client sent it.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The path, e.g. <c>/api/v1/namespaces/default/pods</c>.</param>
/// <param name="Query">The query string without its leading <c>?</c>, e.g. <c>watch=true&amp;resourceVersion=12</c>.</param>
public sealed record RecordedRequest(string Method, string Path, string Query)
{
    /// <summary>Whether the request was a watch (<c>watch=true</c>/<c>watch=1</c>).</summary>
    public bool IsWatch =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Query).TryGetValue("watch", out var watch)
            && ApiRequestHandler.IsTrue(watch.ToString());

    /// <summary>One query parameter's value, or null.</summary>
    public string? QueryValue(string name) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(Query).TryGetValue(name, out var value) ? value.ToString() : null;

    public override string ToString() => Query.Length == 0 ? $"{Method} {Path}" : $"{Method} {Path}?{Query}";
}
