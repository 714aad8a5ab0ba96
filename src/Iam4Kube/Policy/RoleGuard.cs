using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>
/// Whether a role may be assumed for a workload of a namespace: first the cluster-wide allow-list
/// (<c>--allowed-roles</c>), then the namespace's own rules (<c>--namespace-restrictions</c>). Every source of a
/// role goes through it, and it is checked on every request, not only when a role is first assigned.
/// </summary>
internal sealed class RoleGuard(IReadOnlyList<RolePattern> allowedRoles, bool namespaceRestrictions, NamespaceStore namespaces)
{
    public const string AllowedRolesFlag = "--allowed-roles";

    /// <summary>Neither restriction is on: every role is permitted.</summary>
    public bool IsOff => allowedRoles.Count == 0 && !namespaceRestrictions;

    /// <summary>Whether a namespace's rules take part (so a change of them must re-decide).</summary>
    public bool NamespaceRestrictions => namespaceRestrictions;

    public static RoleGuard Off(NamespaceStore namespaces) => new([], false, namespaces);

    public GuardVerdict Check(RoleArn arn, string @namespace)
    {
        if (allowedRoles.Count > 0 && !MatchesAllowList(arn))
        {
            return GuardVerdict.Forbid($"role {arn} is not permitted by {AllowedRolesFlag}");
        }

        if (!namespaceRestrictions)
        {
            return GuardVerdict.Permitted;
        }

        if (namespaces.Get(@namespace) is not { } rules)
        {
            return new GuardVerdict(GuardResult.NamespaceUnknown, $"namespace {@namespace} is not known (yet)");
        }

        if (rules.Permits(arn, out var why))
        {
            return GuardVerdict.Permitted;
        }

        return GuardVerdict.Forbid(why is null
            ? $"role {arn} is not permitted in namespace {@namespace} by {rules.RuleName}"
            : $"role {arn} is not permitted in namespace {@namespace}: {why}");
    }

    private bool MatchesAllowList(RoleArn arn)
    {
        try
        {
            return allowedRoles.Any(p => p.Matches(arn));
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            return false;
        }
    }
}

/// <summary>What <see cref="RoleGuard"/> says of a role; <see cref="Message"/> says why not, as kubectl would show it.</summary>
internal readonly record struct GuardVerdict(GuardResult Result, string? Message)
{
    public static readonly GuardVerdict Permitted = new(GuardResult.Permitted, null);

    public bool IsPermitted => Result == GuardResult.Permitted;

    public static GuardVerdict Forbid(string message) => new(GuardResult.Forbidden, message);
}

internal enum GuardResult
{
    Permitted,
    Forbidden,

    /// <summary>The namespace's rules are not known yet: wait for its Namespace (never assume permission).</summary>
    NamespaceUnknown,
}
