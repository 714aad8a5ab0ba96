using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>
/// Compatibility mode's prefetch: the roles pods name themselves (<c>iam.amazonaws.com/role</c>) or get by default
/// (<c>--default-role</c>) are wanted like ServiceAccounts' roles, keyed per (role, external id,
/// namespace@serviceaccount), so a thousand pods of one ServiceAccount naming one role are one AssumeRole. A role is
/// forgotten when the last pod using it goes (or its ServiceAccount gains a role, which then wins). Finished pods
/// want nothing (they are never served). Goes through <see cref="CountedRoleDemand"/>, which the ServiceAccount
/// store shares: one role may be wanted by both while a ServiceAccount is being annotated.
/// </summary>
internal sealed class PodRoleDemand(PodRoleSettings settings, IRoleDemand demand)
{
    private readonly Lock _gate = new();
    private ServiceAccountStore? _serviceAccounts;

    // The role each pod wants now, and the pods that may want one, by ServiceAccount (to re-decide on its change).
    private readonly Dictionary<string, IamRole> _wanted = new(StringComparer.Ordinal);
    private readonly Dictionary<NamespacedName, Dictionary<string, PodInfo>> _podsByServiceAccount = [];

    /// <summary>Follows <paramref name="pods"/> and <paramref name="serviceAccounts"/> from now on (and takes what they hold now).</summary>
    public void Attach(PodIndex pods, ServiceAccountStore serviceAccounts)
    {
        lock (_gate)
        {
            _serviceAccounts = serviceAccounts;
        }

        pods.PodChanged += OnPodChanged;
        serviceAccounts.AssignmentChanged += OnServiceAccountChanged;
        foreach (var pod in pods.Snapshot())
        {
            OnPodChanged(null, pod);
        }
    }

    /// <summary>Distinct roles wanted for pods (for tests and explain).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _wanted.Values.Distinct().Count();
            }
        }
    }

    private void OnPodChanged(PodInfo? previous, PodInfo? current)
    {
        lock (_gate)
        {
            if (previous is not null && _podsByServiceAccount.TryGetValue(previous.ServiceAccountName, out var before))
            {
                before.Remove(previous.Uid);
                if (before.Count == 0)
                {
                    _podsByServiceAccount.Remove(previous.ServiceAccountName);
                }
            }

            // Only pods that may want a role are kept: with no --default-role, those with a role annotation.
            if (current is not null && (settings.DefaultRole is not null || current.RoleAnnotations is not null))
            {
                if (!_podsByServiceAccount.TryGetValue(current.ServiceAccountName, out var now))
                {
                    now = new Dictionary<string, PodInfo>(StringComparer.Ordinal);
                    _podsByServiceAccount.Add(current.ServiceAccountName, now);
                }

                now[current.Uid] = current;
            }

            Update((current ?? previous)!.Uid, current);
        }
    }

    private void OnServiceAccountChanged(NamespacedName serviceAccount)
    {
        lock (_gate)
        {
            if (_podsByServiceAccount.TryGetValue(serviceAccount, out var pods))
            {
                foreach (var pod in pods.Values)
                {
                    Update(pod.Uid, pod);
                }
            }
        }
    }

    private void Update(string uid, PodInfo? pod)
    {
        var desired = pod is null ? null : Desired(pod);
        _wanted.TryGetValue(uid, out var wanted);
        if (desired == wanted)
        {
            return;
        }

        // Want the new role before forgetting the old: the same role must not drop out in between.
        if (desired is not null)
        {
            demand.Want(desired);
            _wanted[uid] = desired;
        }
        else
        {
            _wanted.Remove(uid);
        }

        if (wanted is not null)
        {
            demand.Forget(wanted);
        }
    }

    /// <summary>The pod's own role when its ServiceAccount is known and names none; finished pods want none.</summary>
    private IamRole? Desired(PodInfo pod) =>
        pod is { Ending: true, Terminating: false }
            || _serviceAccounts is null
            || !_serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment)
            || assignment is not RoleAssignment.None
            || settings.Assign(pod) is not RoleAssignment.Assigned { Role: var role }
            ? null
            : role;
}

/// <summary>
/// Counts wants per role, so that two sources (ServiceAccounts and, in compatibility mode, pods) may want one role:
/// the role is passed on when first wanted and withdrawn when the last want is forgotten.
/// </summary>
internal sealed class CountedRoleDemand(IRoleDemand inner) : IRoleDemand
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IamRole, int> _counts = [];

    public void Want(IamRole role)
    {
        lock (_gate)
        {
            var count = _counts.GetValueOrDefault(role);
            _counts[role] = count + 1;
            if (count == 0)
            {
                inner.Want(role);
            }
        }
    }

    public void Forget(IamRole role)
    {
        lock (_gate)
        {
            if (!_counts.TryGetValue(role, out var count))
            {
                return;
            }

            if (count > 1)
            {
                _counts[role] = count - 1;
                return;
            }

            _counts.Remove(role);
            inner.Forget(role);
        }
    }
}
