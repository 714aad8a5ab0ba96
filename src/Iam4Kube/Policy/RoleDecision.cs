using Iam4Kube.Outcomes;
using Iam4Kube.Roles;

namespace Iam4Kube.Policy;

/// <summary>
/// What a caller may have: its role (with session name and external id), or why not: no role, an invalid
/// annotation, a ServiceAccount or Namespace not known yet, a role forbidden by --allowed-roles or the namespace.
/// </summary>
internal readonly record struct RoleDecision(Outcome Outcome, IamRole? Role = null, string? Detail = null)
{
    public static RoleDecision Assigned(IamRole role) => new(Outcome.Resolved, role);
}
