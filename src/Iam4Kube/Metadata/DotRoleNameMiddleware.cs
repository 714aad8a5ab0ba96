using Microsoft.AspNetCore.Http.Features;

namespace Iam4Kube.Metadata;

/// <summary>
/// IAM allows roles named <c>.</c> and <c>..</c>, but Kestrel resolves dot segments before anything sees the path
/// (<c>…/security-credentials/..</c> becomes <c>…/meta-data/iam</c>), so such a role could never be fetched. When the
/// raw request target ends in exactly such a segment after a credentials listing, the path is restored, and the
/// allow-list and the caller's own role name decide as for any other name. Encoded (<c>%2e%2e</c>) and
/// non-final dot segments are still resolved: nothing else escapes the allow-list.
/// </summary>
internal sealed class DotRoleNameMiddleware(RequestDelegate next)
{
    private static readonly string[] Listings = ["/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials-extended/"];

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpRequestFeature>()?.RawTarget is { } raw && RoleNamePath(raw) is { } path)
        {
            context.Request.Path = path;
        }

        return next(context);
    }

    /// <summary>The credentials path of a role named <c>.</c> or <c>..</c> that <paramref name="rawTarget"/> asks for, else null.</summary>
    internal static string? RoleNamePath(string rawTarget)
    {
        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var target = (query < 0 ? rawTarget.AsSpan() : rawTarget.AsSpan(0, query)).TrimEnd('/');
        var name = target.EndsWith("/..", StringComparison.Ordinal) ? ".."
            : target.EndsWith("/.", StringComparison.Ordinal) ? "."
            : null;
        if (name is null)
        {
            return null;
        }

        var listing = target[..^name.Length].ToString();
        // Repeated slashes are collapsed as for every path (EC2 does so).
        while (listing.Contains("//", StringComparison.Ordinal))
        {
            listing = listing.Replace("//", "/", StringComparison.Ordinal);
        }

        return Array.IndexOf(Listings, listing) >= 0 ? listing + name : null;
    }
}
