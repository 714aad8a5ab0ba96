using Iam4Kube.Observability;
using Iam4Kube.Outcomes;

namespace Iam4Kube.Metadata;

/// <summary>
/// IMDSv2 on identity-dependent paths: a token that is present must be valid, for this IP, unexpired; otherwise 401
/// before anything is resolved. Without a token IMDSv1 applies, unless tokens are required (<see cref="ImdsTokenRequirement"/>). A valid token's pod binding goes to the handler as
/// an <see cref="ImdsSession"/>.
/// </summary>
internal sealed class ImdsTokenFilter(ImdsTokens tokens, ImdsTokenRequirement requirement, OutcomeReporter reporter) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var tokenValues = http.Request.Headers[MetadataApi.TokenHeader];
        if (tokenValues.Count == 0)
        {
            if (requirement.Everywhere)
            {
                // --imds-tokens required: refused at once, as EC2 does, whoever is calling.
                reporter.Refused(Outcome.TokenRequired, Outcome.TokenRequired.ImdsStatus, MetadataApi.SourceIp(http), http.Request.Path, pod: null,
                    "IMDSv2 is required (--imds-tokens required)", credentialsRequest: CredentialsRequestOf(http));
                return ValueTask.FromResult<object?>(ImdsResults.Text(StatusCodes.Status401Unauthorized, "Unauthorized"));
            }

            return next(context);
        }

        var ip = MetadataApi.SourceIp(http);
        if (tokenValues.Count != 1 || !tokens.TryValidate(tokenValues[0], ip, out var boundUid))
        {
            // A refused credentials request is audited like any other, with no pod (identity was never asked).
            reporter.TokenRejected(ip, http.Request.Path, CredentialsRequestOf(http));
            return ValueTask.FromResult<object?>(ImdsResults.Text(StatusCodes.Status401Unauthorized, "Unauthorized"));
        }

        http.Features.Set(new ImdsSession(boundUid));
        return next(context);
    }

    private static CredentialsRequest? CredentialsRequestOf(HttpContext http)
    {
        var route = http.GetEndpoint()?.Metadata.GetMetadata<MetricsRoute>();
        return route == MetadataApi.CredentialsRoute || route == MetadataApi.ExtendedCredentialsRoute
            ? ImdsDoor.Credentials(TimeSpan.Zero)
            : null;
    }
}

/// <summary>The pod uid a valid IMDSv2 token was bound to (empty when it was issued before the pod was known).</summary>
internal sealed record ImdsSession(string BoundUid)
{
    public static string BoundUidOf(HttpContext context) => context.Features.Get<ImdsSession>()?.BoundUid ?? "";

    /// <summary>Whether the request carried a valid IMDSv2 token (IMDSv1 otherwise).</summary>
    public static bool HasToken(HttpContext context) => context.Features.Get<ImdsSession>() is not null;
}
