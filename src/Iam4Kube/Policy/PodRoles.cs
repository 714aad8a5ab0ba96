using System.Runtime.CompilerServices;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>Compatibility mode's settings: <c>--base-role-arn</c> (a prefix ending in '/') and <c>--default-role</c>, both validated.</summary>
internal sealed record PodRoleSettings(string? BaseRoleArn, RoleArn? DefaultRole)
{
    /// <summary>From validated options (<see cref="Iam4KubeOptionsValidator"/>); null without --pod-annotations.</summary>
    public static PodRoleSettings? From(Iam4KubeOptions options)
    {
        if (!options.PodAnnotations)
        {
            return null;
        }

        string? prefix = null;
        if (options.BaseRoleArn is { } baseText && !PodRoleAnnotations.TryParseBase(baseText, out prefix, out var error))
        {
            throw new ArgumentException($"{PodRoleAnnotations.BaseRoleArnFlag} was not validated: {error}");
        }

        RoleArn? defaultRole = null;
        if (options.DefaultRole is { } defaultText && !PodRoleAnnotations.TryResolve(defaultText, prefix, out defaultRole, out var defaultError))
        {
            throw new ArgumentException($"{PodRoleAnnotations.DefaultRoleFlag} was not validated: {defaultError}");
        }

        return new PodRoleSettings(prefix, defaultRole);
    }

    /// <summary>What a pod names for itself (its annotations, else the default role) when its ServiceAccount names nothing.</summary>
    public RoleAssignment Assign(PodInfo pod) =>
        PodRoleAnnotations.Assign(pod.ServiceAccountName, pod.RoleAnnotations, BaseRoleArn, DefaultRole);
}

/// <summary>
/// Compatibility mode (<c>--pod-annotations</c>) in the policy stage: the role a pod names itself, the pod to watch
/// for a change of it, and the warning when a pod's annotation disagrees with its ServiceAccount's (which wins): an
/// Event on the pod, a metric and a log line, once per pod (per version of what the index keeps of it and per role
/// its ServiceAccount names), not once per request.
/// </summary>
internal sealed partial class PodRoles(PodRoleSettings settings, PodIndex pods, IPodEvents events, Iam4KubeMetrics metrics, ILogger<PodRoles> logger)
{
    // The ServiceAccount role each pod was last checked against, keyed by the PodInfo instance: an entry goes with the
    // pod (or its next version), so nothing needs cleaning up, and a pod is checked once, not on every request.
    private readonly ConditionalWeakTable<PodInfo, IamRole> _checked = [];
    private readonly Lock _gate = new();

    public RoleAssignment Assign(PodInfo pod) => settings.Assign(pod);

    /// <summary>The pod's ServiceAccount assigns <paramref name="winner"/>: say so once if the pod's own annotation names something else.</summary>
    public void CheckAgreement(PodInfo pod, IamRole winner)
    {
        if (pod.RoleAnnotations is not { Role: not null } values)
        {
            return;
        }

        lock (_gate)
        {
            if (_checked.TryGetValue(pod, out var checkedAgainst) && checkedAgainst == winner)
            {
                return;
            }

            _checked.AddOrUpdate(pod, winner);
        }

        var own = PodRoleAnnotations.Assign(pod.ServiceAccountName, values, settings.BaseRoleArn, defaultRole: null);
        if (own is RoleAssignment.Assigned { Role: var named } && named.Arn == winner.Arn && named.ExternalId == winner.ExternalId)
        {
            return;
        }

        var what = own switch
        {
            RoleAssignment.Assigned { Role.Arn: var arn } when arn == winner.Arn => "names the same role with another external id",
            RoleAssignment.Assigned { Role.Arn: var arn } => $"names {arn}",
            _ => $"is malformed ({((RoleAssignment.Invalid)own).Reason})",
        };
        var message = $"ServiceAccount {pod.ServiceAccount}'s {RoleAnnotations.RoleArnKey} {winner.Arn} wins over the pod's {PodRoleAnnotations.RoleKey}, which {what}";
        metrics.RoleAnnotationsDisagree.Inc();
        Log.Disagree(logger, pod.Name.ToString(), message);
        events.Record(pod, PodEventReason.IamRoleAnnotationsDisagree, message);
    }

    /// <summary>Wakes when the pod changes (its annotations among what the index keeps of it).</summary>
    public IDisposable WatchForChange(PodInfo pod, out Task changed)
    {
        var subscription = pods.UidChanged.Subscribe(pod.Uid);
        changed = subscription.Changed;
        return subscription;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Pod {Pod}: {Message}")]
        public static partial void Disagree(ILogger logger, string pod, string message);
    }
}
