using Iam4Kube.Outcomes;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>
/// Pod → role: today the role its ServiceAccount's annotations assign. A later input (a Namespace's restrictions)
/// re-decides from the same annotations, kept as written in <see cref="ServiceAccountStore"/>.
/// </summary>
internal sealed class RolePolicy(ServiceAccountStore serviceAccounts)
{
    public RoleDecision Decide(PodInfo pod)
    {
        if (!serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment))
        {
            return new RoleDecision(Outcome.ServiceAccountUnknown, Detail: $"ServiceAccount {pod.ServiceAccountName} of pod {pod.Name} is not known");
        }

        return assignment switch
        {
            RoleAssignment.Assigned assigned => RoleDecision.Assigned(assigned.Role),
            RoleAssignment.Invalid invalid => new RoleDecision(Outcome.InvalidRole, Detail: $"ServiceAccount {pod.ServiceAccountName}: {invalid.Reason}"),
            _ => new RoleDecision(Outcome.NoRole, Detail: $"ServiceAccount {pod.ServiceAccountName} has no {RoleAnnotations.RoleArnKey} annotation"),
        };
    }

    /// <summary>Wakes when the decision for <paramref name="pod"/> may have changed.</summary>
    public IDisposable WatchForChange(PodInfo pod, out Task changed)
    {
        var subscription = serviceAccounts.Changed.Subscribe(pod.ServiceAccountName);
        changed = subscription.Changed;
        return subscription;
    }
}
