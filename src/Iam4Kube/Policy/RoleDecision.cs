using Iam4Kube.Outcomes;
using Iam4Kube.Roles;

namespace Iam4Kube.Policy;

/// <summary>
/// What a caller may have: its role (with session name and external id), or why not: no role, an invalid
/// annotation, a ServiceAccount not known yet (and, for later inputs, "forbidden by policy").
/// </summary>
internal readonly record struct RoleDecision(Outcome Outcome, IamRole? Role = null, string? Detail = null)
{
    public static RoleDecision Assigned(IamRole role) => new(Outcome.Resolved, role);
}
