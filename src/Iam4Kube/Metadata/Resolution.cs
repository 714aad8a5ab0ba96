using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Roles;

namespace Iam4Kube.Metadata;

/// <summary>How far a request got from its source IP towards what it asked for.</summary>
internal readonly record struct Resolution(
    ResolutionOutcome Outcome,
    PodInfo? Pod = null,
    IamRole? Role = null,
    RoleCredentials? Credentials = null,
    NodeInfo? Node = null,
    string? Detail = null)
{
    /// <summary>Outcomes that waiting cannot change (only a new event could, and it will wake a new request).</summary>
    public bool IsFinal => Outcome is ResolutionOutcome.Resolved or ResolutionOutcome.NoRole or ResolutionOutcome.InvalidRole
        or ResolutionOutcome.CredentialsDenied or ResolutionOutcome.TokenPodMismatch or ResolutionOutcome.ViewTooOld;
}

internal enum ResolutionOutcome
{
    Resolved,
    NoRole,
    InvalidRole,
    CredentialsDenied,
    TokenPodMismatch,
    PodUnknown,
    PodAmbiguous,
    ServiceAccountUnknown,
    NodeUnknown,
    CredentialsUnavailable,
    TooManyParked,
    ShuttingDown,
    ViewTooOld,
    ClientGone,
}

/// <summary>What a request needs resolved.</summary>
internal enum Need
{
    /// <summary>The pod's role (listing the role name, iam/info).</summary>
    Role,

    /// <summary>The role's current credentials.</summary>
    Credentials,

    /// <summary>The pod's node (placement, identity document).</summary>
    Node,
}
