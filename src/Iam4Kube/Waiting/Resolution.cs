using Iam4Kube.Credentials;
using Iam4Kube.Outcomes;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Waiting;

/// <summary>
/// How far a request got through the stages (identity → policy → credentials, or the pod's node) towards what it
/// asked for. On success <see cref="Outcome"/> is <see cref="Outcome.Resolved"/>; with <see cref="Need.Role"/>,
/// <see cref="Credentials"/> holds whatever is cached (servable or not), with <see cref="Need.Node"/>,
/// <see cref="Role"/> the pod's role if it has one.
/// </summary>
internal readonly record struct Resolution(
    Outcome Outcome,
    PodInfo? Pod = null,
    IamRole? Role = null,
    RoleCredentials? Credentials = null,
    NodeInfo? Node = null,
    string? Detail = null)
{
    public bool IsResolved => ReferenceEquals(Outcome, Outcome.Resolved);
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
