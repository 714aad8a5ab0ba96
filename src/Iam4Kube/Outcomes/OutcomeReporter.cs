using System.Net;
using System.Runtime.CompilerServices;
using Iam4Kube.Credentials;
using Iam4Kube.Observability;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Outcomes;

/// <summary>
/// Tells people how a request ended, the same way for every door: the outcome metric, the pod's Event (deduplicated
/// by <see cref="IPodEvents"/>) and one log line, all taken from the <see cref="Outcome"/> table; for credentials
/// answers, also the <see cref="AuditLog"/> line. Never a secret: access key ids at most.
/// </summary>
internal sealed partial class OutcomeReporter(Iam4KubeMetrics metrics, IPodEvents events, AuditLog audit, ILogger<OutcomeReporter> logger)
{
    // Every warm answer passes here: a labelled child looked up once, and the Event's text formatted once per
    // credentials (bench/ scenario 7: a label lookup and an interpolated string per request were measurable).
    private readonly Prometheus.Counter.Child _served = metrics.Outcomes.WithLabels(Outcome.CredentialsServed.Label);
    private readonly ConditionalWeakTable<RoleCredentials, ServedMessage> _servedMessages = new();

    /// <summary>
    /// A request refused with <paramref name="outcome"/>; <paramref name="status"/> is what the door answered (doors
    /// differ). <paramref name="credentialsRequest"/> is set when the request asked for credentials (audited).
    /// </summary>
    public void Refused(Outcome outcome, int status, IPAddress sourceIp, string path, PodInfo? pod, string? detail,
        IamRole? role = null, CredentialsRequest? credentialsRequest = null)
    {
        if (credentialsRequest is { } request)
        {
            audit.Record(request.Door, outcome, status, sourceIp, pod, role, accessKeyId: null, request.Waited);
        }


        metrics.Outcomes.WithLabels(outcome.Label).Inc();
        if (outcome.EventReason is { } reason && pod is not null)
        {
            events.Record(pod, reason, detail ?? reason.ToString());
        }

        if (outcome.LogLevel != LogLevel.None && logger.IsEnabled(outcome.LogLevel))
        {
            var podName = pod?.Name.ToString() ?? "";
            Log.Refused(logger, outcome.LogLevel, sourceIp, path, podName, outcome.Label, status, detail ?? "");
        }
    }

    /// <summary>A credential (an IMDSv2 token) that is invalid, expired or foreign: refused before identity.</summary>
    public void TokenRejected(IPAddress sourceIp, string path, CredentialsRequest? credentialsRequest = null)
    {
        metrics.Outcomes.WithLabels(Outcome.TokenRejected.Label).Inc();
        if (credentialsRequest is { } request)
        {
            audit.Record(request.Door, Outcome.TokenRejected, Outcome.TokenRejected.ImdsStatus, sourceIp, pod: null, role: null, accessKeyId: null, request.Waited);
        }

        Log.TokenRejected(logger, sourceIp, path);
    }

    public void RoleFound(PodInfo pod, IamRole role) =>
        events.Record(pod, PodEventReason.IamRoleFound, $"ServiceAccount {pod.ServiceAccount} has role {role.Arn} (session {role.SessionName})");

    public void CredentialsServed(CredentialsRequest request, IPAddress sourceIp, PodInfo pod, IamRole role, RoleCredentials credentials)
    {
        _served.Inc();
        audit.Record(request.Door, Outcome.CredentialsServed, Outcome.CredentialsServed.ImdsStatus, sourceIp, pod, role, credentials.AccessKeyId, request.Waited);
        events.Record(pod, PodEventReason.IamCredentialsServed, ServedMessageOf(credentials, role));
        if (credentials.Notice is { } notice)
        {
            events.Record(pod, PodEventReason.IamSessionDurationClamped, notice);
        }

        if (credentials.ShortLivedNotice is { } shortLived)
        {
            events.Record(pod, PodEventReason.IamCredentialsShortLived, shortLived);
        }

        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.CredentialsServed(logger, sourceIp, pod.Name.ToString(), role.Arn.Value, role.SessionName, credentials.AccessKeyId);
        }
    }

    /// <summary>The IamCredentialsServed Event's text; credentials belong to one role, but the role is checked anyway.</summary>
    private string ServedMessageOf(RoleCredentials credentials, IamRole role)
    {
        if (!_servedMessages.TryGetValue(credentials, out var message) || !ReferenceEquals(message.Role, role) && message.Role != role)
        {
            message = new ServedMessage(role, $"Served credentials {credentials.AccessKeyId} for {role.Arn} as {role.SessionName}");
            _servedMessages.AddOrUpdate(credentials, message);
        }

        return message.Text;
    }

    private sealed record ServedMessage(IamRole Role, string Text);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Message = "Refused {Path} from {SourceIp} (pod {Pod}): {Outcome}, status {Status}: {Detail}")]
        public static partial void Refused(ILogger logger, LogLevel level, IPAddress sourceIp, string path, string pod, string outcome, int status, string detail);

        [LoggerMessage(2, LogLevel.Warning, "Rejected an invalid, expired or foreign IMDSv2 token from {SourceIp} on {Path}")]
        public static partial void TokenRejected(ILogger logger, IPAddress sourceIp, string path);

        [LoggerMessage(3, LogLevel.Debug, "Served credentials {AccessKeyId} of {RoleArn} as {SessionName} to pod {Pod} at {SourceIp}")]
        public static partial void CredentialsServed(ILogger logger, IPAddress sourceIp, string pod, string roleArn, string sessionName, string accessKeyId);
    }
}

/// <summary>A request for credentials through <paramref name="Door"/>, answered after <paramref name="Waited"/>.</summary>
internal readonly record struct CredentialsRequest(string Door, TimeSpan Waited);
