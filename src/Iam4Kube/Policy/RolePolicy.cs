using Iam4Kube.Outcomes;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>
/// Pod → role: the role its ServiceAccount's annotations assign (kept as written in
/// <see cref="ServiceAccountStore"/>), if <see cref="RoleGuard"/> permits it for the pod's namespace at this moment.
/// </summary>
internal sealed class RolePolicy(ServiceAccountStore serviceAccounts, RoleGuard guard, NamespaceStore namespaces)
{
    public RoleDecision Decide(PodInfo pod)
    {
        if (!serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment))
        {
            return new RoleDecision(Outcome.ServiceAccountUnknown, Detail: $"ServiceAccount {pod.ServiceAccountName} of pod {pod.Name} is not known");
        }

        return assignment switch
        {
            RoleAssignment.Assigned assigned => Guard(assigned.Role, pod.Name.Namespace),
            RoleAssignment.Invalid invalid => new RoleDecision(Outcome.InvalidRole, Detail: $"ServiceAccount {pod.ServiceAccountName}: {invalid.Reason}"),
            _ => new RoleDecision(Outcome.NoRole, Detail: $"ServiceAccount {pod.ServiceAccountName} has no {RoleAnnotations.RoleArnKey} annotation"),
        };
    }

    /// <summary>Wakes when the decision for <paramref name="pod"/> may have changed: its ServiceAccount or its namespace's rules.</summary>
    public IDisposable WatchForChange(PodInfo pod, out Task changed)
    {
        var serviceAccount = serviceAccounts.Changed.Subscribe(pod.ServiceAccountName);
        if (!guard.NamespaceRestrictions)
        {
            changed = serviceAccount.Changed;
            return serviceAccount;
        }

        var ns = namespaces.Changed.Subscribe(pod.Name.Namespace);
        changed = Task.WhenAny(serviceAccount.Changed, ns.Changed);
        return new Both(serviceAccount, ns);
    }

    private RoleDecision Guard(IamRole role, string @namespace)
    {
        var verdict = guard.Check(role.Arn, @namespace);
        return verdict.Result switch
        {
            GuardResult.Permitted => RoleDecision.Assigned(role),
            GuardResult.NamespaceUnknown => new RoleDecision(Outcome.NamespaceUnknown, Detail: verdict.Message),
            _ => new RoleDecision(Outcome.RoleForbidden, Detail: verdict.Message),
        };
    }

    private sealed class Both(IDisposable first, IDisposable second) : IDisposable
    {
        public void Dispose()
        {
            first.Dispose();
            second.Dispose();
        }
    }
}
