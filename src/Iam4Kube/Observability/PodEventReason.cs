namespace Iam4Kube.Observability;

/// <summary>The Kubernetes Events iam4kube records on pods.</summary>
internal enum PodEventReason
{
    /// <summary>The pod asked for its role and has one (Normal).</summary>
    IamRoleFound,

    /// <summary>Credentials were served to the pod (Normal).</summary>
    IamCredentialsServed,

    /// <summary>The pod's ServiceAccount has no role annotation (Warning).</summary>
    IamRoleMissing,

    /// <summary>The role annotations are malformed (Warning).</summary>
    IamRoleInvalid,

    /// <summary>STS refused AssumeRole, e.g. the role does not trust iam4kube (Warning).</summary>
    IamAssumeRoleDenied,

    /// <summary>The session is shorter than the ServiceAccount or --session-duration asked for, and why (Warning).</summary>
    IamSessionDurationClamped,

    /// <summary>A replica turned ready (--ready-wait-for-roles) without credentials for the pod's role (Warning).</summary>
    IamCredentialsDelayed,

    /// <summary>STS issued credentials too short-lived for SDKs' refresh windows; served anyway, and why (Warning).</summary>
    IamCredentialsShortLived,

    /// <summary>An IMDSv1 request (no token) was refused: the pod's ServiceAccount requires IMDSv2 (Warning).</summary>
    IamImdsTokenRequired,
    /// <summary>The role is not permitted by --allowed-roles or the namespace's rules; the message names the rule (Warning).</summary>
    IamRoleForbidden,

    /// <summary>--pod-annotations: the pod's iam.amazonaws.com/role names another role than its ServiceAccount, which wins (Warning).</summary>
    IamRoleAnnotationsDisagree,
}
