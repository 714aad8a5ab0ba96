using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>
/// Stands between the roles ServiceAccounts assign and the credentials refresher: only permitted roles are
/// prefetched. A change of a namespace's rules re-decides every role assigned in it at once: a role that became
/// forbidden is forgotten (its credentials dropped, no more STS calls), one that became permitted is wanted.
/// </summary>
internal sealed class PermittedRoleDemand : IRoleDemand
{
    private readonly Lock _gate = new();
    private readonly IRoleDemand _inner;
    private readonly RoleGuard _guard;

    // Every assigned role by namespace, and whether it was passed on (is being kept fresh).
    private readonly Dictionary<string, Dictionary<IamRole, bool>> _assigned = new(StringComparer.Ordinal);

    public PermittedRoleDemand(IRoleDemand inner, RoleGuard guard, NamespaceStore namespaces)
    {
        _inner = inner;
        _guard = guard;
        namespaces.RulesChanged += Recheck;
    }

    public void Want(IamRole role)
    {
        var ns = NamespaceOf(role);
        lock (_gate)
        {
            if (!_assigned.TryGetValue(ns, out var roles))
            {
                roles = [];
                _assigned.Add(ns, roles);
            }

            var permitted = _guard.Check(role.Arn, ns).IsPermitted;
            var passed = roles.TryGetValue(role, out var was) && was;
            roles[role] = permitted;
            if (permitted != passed)
            {
                Pass(role, permitted);
            }
        }
    }

    public void Forget(IamRole role)
    {
        var ns = NamespaceOf(role);
        lock (_gate)
        {
            if (_assigned.TryGetValue(ns, out var roles) && roles.Remove(role, out var passed))
            {
                if (roles.Count == 0)
                {
                    _assigned.Remove(ns);
                }

                if (passed)
                {
                    _inner.Forget(role);
                }
            }
        }
    }

    /// <summary>The namespace's rules changed: pass on what became permitted, withdraw what became forbidden.</summary>
    private void Recheck(string @namespace)
    {
        lock (_gate)
        {
            if (!_assigned.TryGetValue(@namespace, out var roles))
            {
                return;
            }

            foreach (var (role, passed) in roles.ToList())
            {
                var permitted = _guard.Check(role.Arn, @namespace).IsPermitted;
                if (permitted != passed)
                {
                    roles[role] = permitted;
                    Pass(role, permitted);
                }
            }
        }
    }

    private void Pass(IamRole role, bool permitted)
    {
        if (permitted)
        {
            _inner.Want(role);
        }
        else
        {
            _inner.Forget(role);
        }
    }

    // Roles assigned by a ServiceAccount always name it; "" groups any other under no namespace's rules.
    private static string NamespaceOf(IamRole role) => role.ServiceAccount?.Namespace ?? "";
}
