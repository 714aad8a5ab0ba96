using Iam4Kube.Hosting;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Iam4Kube.Metadata;

/// <summary>
/// EC2's metadata paths are case-sensitive (<c>/Latest/meta-data/…</c> is 404 there), but ASP.NET Core routing
/// matches literals ignoring case. For the metadata door's endpoints, a candidate whose literal segments differ from
/// the path in case is dropped, so the fallback (404) answers instead and the request counts as route "other".
/// </summary>
internal sealed class CaseSensitivePathPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // Before the other policies: it only removes candidates.
    public override int Order => -1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => endpoints.Any(IsMetadataRoute);

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var path = httpContext.Request.Path.Value ?? "";
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i) && candidates[i].Endpoint is RouteEndpoint endpoint && IsMetadataRoute(endpoint)
                && !LiteralsMatchExactly(endpoint.RoutePattern, path))
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }

    private static bool IsMetadataRoute(Endpoint endpoint) =>
        endpoint is RouteEndpoint && (endpoint.Metadata.GetMetadata<ServedOn>()?.Door ?? Doors.Metadata) == Doors.Metadata;

    /// <summary>Whether every all-literal segment of <paramref name="pattern"/> equals the path's segment ordinally.</summary>
    internal static bool LiteralsMatchExactly(RoutePattern pattern, string path)
    {
        var rest = path.AsSpan().TrimStart('/');
        foreach (var segment in pattern.PathSegments)
        {
            var slash = rest.IndexOf('/');
            var actual = slash < 0 ? rest : rest[..slash];
            rest = slash < 0 ? [] : rest[(slash + 1)..];
            if (segment.Parts is [RoutePatternLiteralPart literal] && !actual.SequenceEqual(literal.Content))
            {
                return false;
            }
        }

        return true;
    }
}
