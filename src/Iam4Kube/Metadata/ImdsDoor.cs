using Iam4Kube.Identity;
using Iam4Kube.Outcomes;
using Iam4Kube.Waiting;

namespace Iam4Kube.Metadata;

/// <summary>
/// The EC2 metadata door's side of the stages: builds the request's claim (source IP, IMDSv2 binding), resolves it,
/// and turns any outcome short of success into EC2's answer (status from the <see cref="Outcome"/> table, reported
/// once by <see cref="OutcomeReporter"/>).
/// </summary>
internal sealed class ImdsDoor(SourceIpIdentity identity, CallerResolver resolver, OutcomeReporter reporter, ImdsTokenRequirement tokens)
{
    public async ValueTask<Resolution> ResolveAsync(HttpContext context, Need need)
    {
        var resolution = await resolver.ResolveAsync(identity.Claim(MetadataApi.SourceIp(context), ImdsSession.BoundUidOf(context)), need, context.RequestAborted);
        // IMDSv1 where the pod's ServiceAccount requires IMDSv2: known only once the pod is (--imds-tokens required
        // refuses earlier, in ImdsTokenFilter).
        return resolution.Pod is { } pod && !ImdsSession.HasToken(context) && tokens.For(pod) is { } why
            ? new Resolution(Outcome.TokenRequired, pod, Detail: why)
            : resolution;
    }

    /// <summary>Reports the refusal and returns what EC2 would answer (nothing when the client has gone).</summary>
    public IResult Refuse(HttpContext context, Resolution resolution, CredentialsRequest? credentialsRequest = null)
    {
        var outcome = resolution.Outcome;
        reporter.Refused(outcome, outcome.ImdsStatus, MetadataApi.SourceIp(context), context.Request.Path, resolution.Pod, resolution.Detail,
            resolution.Role, credentialsRequest);
        if (ReferenceEquals(outcome, Outcome.ClientGone))
        {
            return ImdsResults.Nothing;
        }

        // The body says why, for whoever debugs with curl from inside the pod; it never holds a secret.
        var body = resolution.Detail ?? ReasonPhrase(outcome.ImdsStatus);
        return outcome.IsRetryable ? ImdsResults.Retry(outcome.ImdsStatus, body) : ImdsResults.Text(outcome.ImdsStatus, body);
    }

    public void RoleFound(Resolution resolution) => reporter.RoleFound(resolution.Pod!, resolution.Role!);

    public void CredentialsServed(HttpContext context, Resolution resolution, TimeSpan waited) =>
        reporter.CredentialsServed(Credentials(waited), MetadataApi.SourceIp(context), resolution.Pod!, resolution.Role!, resolution.Credentials!);

    /// <summary>What the audit log needs to know of a credentials request answered after <paramref name="waited"/>.</summary>
    public static CredentialsRequest Credentials(TimeSpan waited) => new(Hosting.Doors.Metadata, waited);

    private static string ReasonPhrase(int status) => status switch
    {
        StatusCodes.Status404NotFound => "Not Found",
        StatusCodes.Status401Unauthorized => "Unauthorized",
        _ => "Service Unavailable",
    };
}
