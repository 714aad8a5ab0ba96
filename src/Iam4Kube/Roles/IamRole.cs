using Iam4Kube.Stores;

namespace Iam4Kube.Roles;

/// <summary>
/// What iam4kube assumes for one ServiceAccount: the role, the external id STS must present and the session name
/// that CloudTrail shows. One credentials cache entry per distinct value.
/// </summary>
internal sealed record IamRole(RoleArn Arn, string? ExternalId, string SessionName)
{
    /// <summary>The ServiceAccount the role is assumed for: the subject of its session tags.</summary>
    public NamespacedName? ServiceAccount { get; init; }

    /// <summary>The session duration the ServiceAccount asks for (iam.amazonaws.com/sessionDuration); null: --session-duration.</summary>
    public TimeSpan? SessionDuration { get; init; }

    public override string ToString() => ExternalId is null
        ? $"{Arn} as {SessionName}"
        : $"{Arn} as {SessionName} (external id set)";
}
