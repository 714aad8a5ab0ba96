using System.Net;
using Iam4Kube.Observability;

namespace Iam4Kube.Metadata;

/// <summary>
/// What every identity-dependent metadata request goes through: the IMDSv2 token check, resolution of the caller
/// (waiting when needed), and for anything short of success a defined status, a log line and a metric.
/// </summary>
internal sealed partial class RequestPipeline(
    CallerResolver resolver,
    ImdsTokens tokens,
    Iam4KubeMetrics metrics,
    IPodEvents events,
    ILogger<RequestPipeline> logger)
{
    /// <summary>Resolves the caller; when this is not <see cref="ResolutionOutcome.Resolved"/> the response has been written.</summary>
    public async ValueTask<Resolution> ResolveAsync(HttpContext context, Need need)
    {
        var ip = MetadataApi.SourceIp(context);
        var boundUid = "";
        var tokenValues = context.Request.Headers[MetadataApi.TokenHeader];
        if (tokenValues.Count > 0)
        {
            // IMDSv2: a token that is present must be valid, for this IP, unexpired. Without one, IMDSv1 applies.
            if (tokenValues.Count != 1 || !tokens.TryValidate(tokenValues[0], ip, out boundUid))
            {
                metrics.Outcomes.WithLabels("token_rejected").Inc();
                Log.TokenRejected(logger, ip, context.Request.Path);
                await MetadataApi.WriteText(context, StatusCodes.Status401Unauthorized, "Unauthorized");
                return new Resolution(ResolutionOutcome.TokenPodMismatch);
            }
        }

        var resolution = await resolver.ResolveAsync(ip, need, boundUid, context.RequestAborted);
        if (resolution.Outcome != ResolutionOutcome.Resolved)
        {
            await RefuseAsync(context, ip, resolution);
        }

        return resolution;
    }

    public void Outcome(string outcome) => metrics.Outcomes.WithLabels(outcome).Inc();

    public void RoleFound(Resolution resolution) =>
        events.Record(resolution.Pod!, PodEventReason.IamRoleFound, $"ServiceAccount {resolution.Pod!.ServiceAccount} has role {resolution.Role!.Arn} (session {resolution.Role.SessionName})");

    public void CredentialsServed(HttpContext context, Resolution resolution)
    {
        metrics.Outcomes.WithLabels("credentials").Inc();
        events.Record(resolution.Pod!, PodEventReason.IamCredentialsServed,
            $"Served credentials {resolution.Credentials!.AccessKeyId} for {resolution.Role!.Arn} as {resolution.Role.SessionName}");
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.CredentialsServed(logger, MetadataApi.SourceIp(context), resolution.Pod!.Name.ToString(), resolution.Role!.Arn.Value,
                resolution.Role.SessionName, resolution.Credentials!.AccessKeyId);
        }
    }

    private Task RefuseAsync(HttpContext context, IPAddress ip, Resolution resolution)
    {
        var (status, label) = resolution.Outcome switch
        {
            ResolutionOutcome.NoRole => (StatusCodes.Status404NotFound, "no_role"),
            ResolutionOutcome.InvalidRole => (StatusCodes.Status404NotFound, "invalid_role"),
            ResolutionOutcome.CredentialsDenied => (StatusCodes.Status404NotFound, "sts_denied"),
            ResolutionOutcome.PodUnknown => (StatusCodes.Status404NotFound, "pod_unknown"),
            ResolutionOutcome.PodAmbiguous => (StatusCodes.Status404NotFound, "pod_ambiguous"),
            ResolutionOutcome.ServiceAccountUnknown => (StatusCodes.Status404NotFound, "serviceaccount_unknown"),
            ResolutionOutcome.NodeUnknown => (StatusCodes.Status404NotFound, "node_unknown"),
            ResolutionOutcome.TokenPodMismatch => (StatusCodes.Status401Unauthorized, "token_rejected"),
            ResolutionOutcome.CredentialsUnavailable => (StatusCodes.Status503ServiceUnavailable, "credentials_unavailable"),
            ResolutionOutcome.TooManyParked => (StatusCodes.Status503ServiceUnavailable, "parked_limit"),
            ResolutionOutcome.ShuttingDown => (StatusCodes.Status503ServiceUnavailable, "shutting_down"),
            ResolutionOutcome.ViewTooOld => (StatusCodes.Status503ServiceUnavailable, "view_too_old"),
            _ => (499, "client_gone"),
        };
        metrics.Outcomes.WithLabels(label).Inc();
        RecordEvent(resolution);
        Log.Refused(logger, ip, context.Request.Path, resolution.Pod?.Name.ToString() ?? "", label, status, resolution.Detail ?? "");
        if (resolution.Outcome == ResolutionOutcome.ClientGone)
        {
            return Task.CompletedTask;
        }

        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        // The body says why, for whoever debugs with curl from inside the pod; it never holds a secret.
        return MetadataApi.WriteText(context, status, resolution.Detail ?? ReasonPhrase(status));
    }

    private void RecordEvent(Resolution resolution)
    {
        PodEventReason? reason = resolution.Outcome switch
        {
            ResolutionOutcome.NoRole => PodEventReason.IamRoleMissing,
            ResolutionOutcome.InvalidRole => PodEventReason.IamRoleInvalid,
            ResolutionOutcome.CredentialsDenied => PodEventReason.IamAssumeRoleDenied,
            _ => null,
        };
        if (reason is { } r && resolution.Pod is { } pod)
        {
            events.Record(pod, r, resolution.Detail ?? r.ToString());
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        StatusCodes.Status404NotFound => "Not Found",
        StatusCodes.Status401Unauthorized => "Unauthorized",
        _ => "Service Unavailable",
    };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused {Path} from {SourceIp} (pod {Pod}): {Outcome}, status {Status}: {Detail}")]
        public static partial void Refused(ILogger logger, IPAddress sourceIp, string path, string pod, string outcome, int status, string detail);

        [LoggerMessage(2, LogLevel.Warning, "Rejected an invalid, expired or foreign IMDSv2 token from {SourceIp} on {Path}")]
        public static partial void TokenRejected(ILogger logger, IPAddress sourceIp, string path);

        [LoggerMessage(3, LogLevel.Debug, "Served credentials {AccessKeyId} of {RoleArn} as {SessionName} to pod {Pod} at {SourceIp}")]
        public static partial void CredentialsServed(ILogger logger, IPAddress sourceIp, string pod, string roleArn, string sessionName, string accessKeyId);
    }
}
