using Iam4Kube.Outcomes;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>
/// Pod → role: the role its ServiceAccount's annotations assign (kept as written in
/// <see cref="ServiceAccountStore"/>), if <see cref="RoleGuard"/> permits it for the pod's namespace at this moment.
/// In compatibility mode (<paramref name="podRoles"/>, --pod-annotations) a pod whose ServiceAccount names no role
/// gets the role its own annotation names, else --default-role; the ServiceAccount's annotation wins when both
/// exist. Every source goes through the same guard.
/// </summary>
internal sealed class RolePolicy(ServiceAccountStore serviceAccounts, RoleGuard guard, NamespaceStore namespaces, PodRoles? podRoles = null)
{
    public RoleDecision Decide(PodInfo pod)
    {
        if (!serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment))
        {
            return new RoleDecision(Outcome.ServiceAccountUnknown, Detail: $"ServiceAccount {pod.ServiceAccountName} of pod {pod.Name} is not known");
        }

        if (podRoles is not null)
        {
            if (assignment is RoleAssignment.Assigned fromServiceAccount)
            {
                podRoles.CheckAgreement(pod, fromServiceAccount.Role);
            }
            else if (assignment is RoleAssignment.None)
            {
                return podRoles.Assign(pod) switch
                {
                    RoleAssignment.Assigned fromPod => Guard(fromPod.Role, pod.Name.Namespace),
                    RoleAssignment.Invalid invalid => new RoleDecision(Outcome.InvalidRole, Detail: $"pod {pod.Name}: {invalid.Reason}"),
                    _ => new RoleDecision(Outcome.NoRole,
                        Detail: $"ServiceAccount {pod.ServiceAccountName} has no {RoleAnnotations.RoleArnKey} annotation and pod {pod.Name} has no {PodRoleAnnotations.RoleKey} annotation"),
                };
            }
        }

        return assignment switch
        {
            RoleAssignment.Assigned assigned => Guard(assigned.Role, pod.Name.Namespace),
            RoleAssignment.Invalid invalid => new RoleDecision(Outcome.InvalidRole, Detail: $"ServiceAccount {pod.ServiceAccountName}: {invalid.Reason}"),
            _ => new RoleDecision(Outcome.NoRole, Detail: $"ServiceAccount {pod.ServiceAccountName} has no {RoleAnnotations.RoleArnKey} annotation"),
        };
    }

    /// <summary>
    /// Wakes when the decision for <paramref name="pod"/> may have changed: its ServiceAccount, its namespace's rules,
    /// or (compatibility mode) the pod's own annotations.
    /// </summary>
    public IDisposable WatchForChange(PodInfo pod, out Task changed)
    {
        var serviceAccount = serviceAccounts.Changed.Subscribe(pod.ServiceAccountName);
        List<IDisposable> watches = [serviceAccount];
        List<Task> changes = [serviceAccount.Changed];
        if (guard.NamespaceRestrictions)
        {
            var ns = namespaces.Changed.Subscribe(pod.Name.Namespace);
            watches.Add(ns);
            changes.Add(ns.Changed);
        }

        if (podRoles is not null)
        {
            watches.Add(podRoles.WatchForChange(pod, out var podChanged));
            changes.Add(podChanged);
        }

        if (watches.Count == 1)
        {
            changed = serviceAccount.Changed;
            return serviceAccount;
        }

        changed = Task.WhenAny(changes);
        return new All(watches);
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

    private sealed class All(List<IDisposable> watches) : IDisposable
    {
        public void Dispose() => watches.ForEach(w => w.Dispose());
    }
}
