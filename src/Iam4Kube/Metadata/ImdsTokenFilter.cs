using Iam4Kube.Observability;
using Iam4Kube.Outcomes;

namespace Iam4Kube.Metadata;

/// <summary>
/// IMDSv2 on identity-dependent paths: a token that is present must be valid, for this IP, unexpired; otherwise 401
/// before anything is resolved. Without a token IMDSv1 applies. A valid token's pod binding goes to the handler as
/// an <see cref="ImdsSession"/>.
/// </summary>
internal sealed class ImdsTokenFilter(ImdsTokens tokens, OutcomeReporter reporter) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var tokenValues = http.Request.Headers[MetadataApi.TokenHeader];
        if (tokenValues.Count == 0)
        {
            return next(context);
        }

        var ip = MetadataApi.SourceIp(http);
        if (tokenValues.Count != 1 || !tokens.TryValidate(tokenValues[0], ip, out var boundUid))
        {
            // A refused credentials request is audited like any other, with no pod (identity was never asked).
            var route = http.GetEndpoint()?.Metadata.GetMetadata<MetricsRoute>();
            var credentialsRequest = route == MetadataApi.CredentialsRoute || route == MetadataApi.ExtendedCredentialsRoute
                ? ImdsDoor.Credentials(TimeSpan.Zero)
                : (CredentialsRequest?)null;
            reporter.TokenRejected(ip, http.Request.Path, credentialsRequest);
            return ValueTask.FromResult<object?>(ImdsResults.Text(StatusCodes.Status401Unauthorized, "Unauthorized"));
        }

        http.Features.Set(new ImdsSession(boundUid));
        return next(context);
    }
}

/// <summary>The pod uid a valid IMDSv2 token was bound to (empty when it was issued before the pod was known).</summary>
internal sealed record ImdsSession(string BoundUid)
{
    public static string BoundUidOf(HttpContext context) => context.Features.Get<ImdsSession>()?.BoundUid ?? "";
}
