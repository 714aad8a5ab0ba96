using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Observability;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Hosting;

/// <summary>
/// Decides /readyz. Ready once the cluster has been listed and every role in use by a pod has credentials, or has
/// failed for a reason retrying will not fix: a new replica that joins the Service answers at once, so a rollout
/// loses nothing. With --assume-role-arn, the controller role must have been assumed first. Readiness then stays
/// latched (an STS outage must not take every replica out of the Service at once while they still hold valid
/// credentials) until shutdown begins — except while the view of the cluster is older than --max-view-age: then the
/// replica no longer knows who owns an IP and says so.
/// </summary>
internal sealed class Readiness(
    IClusterSource cluster,
    PodIndex pods,
    ServiceAccountStore serviceAccounts,
    CredentialStore credentials,
    ViewFreshness freshness,
    Iam4KubeMetrics metrics,
    ControllerRole? controller = null,
    RoleGuard? guard = null)
{
    private volatile bool _latched;
    private volatile bool _shuttingDown;

    public bool ShuttingDown => _shuttingDown;

    public void BeginShutdown()
    {
        _shuttingDown = true;
        metrics.Ready.Set(0);
    }

    /// <summary>Whether to answer ready, and if not, why.</summary>
    public (bool Ready, string Reason) Check()
    {
        if (_shuttingDown)
        {
            return (false, "shutting down");
        }

        if (freshness.IsTooOld(out var stale, out var age))
        {
            // Not latched: a replica cut off from the API server (others fine) must leave the Service so ip2service
            // routes around it, and come back once its view is fresh again.
            metrics.Ready.Set(0);
            return (false, $"the view of {stale} is {age.TotalSeconds:F0}s old (more than --max-view-age {freshness.MaxAge.TotalSeconds:F0}s)");
        }

        if (_latched)
        {
            metrics.Ready.Set(1);
            return (true, "ready");
        }

        if (!cluster.Synced.IsCompletedSuccessfully)
        {
            return (false, "waiting for the first list of pods, serviceaccounts and nodes");
        }

        // --assume-role-arn: without the controller role no application role can be assumed, so nothing could be served.
        if (controller?.Problem is { } problem)
        {
            return (false, problem);
        }

        var waiting = 0;
        string? example = null;
        foreach (var role in RolesInUse())
        {
            var state = credentials.Get(role);
            if (state is { Current: not null } || state?.Failure is { Permanent: true })
            {
                continue;
            }

            waiting++;
            example ??= role.Arn.Value;
        }

        if (waiting > 0)
        {
            return (false, $"waiting for the credentials of {waiting} roles in use (e.g. {example})");
        }

        _latched = true;
        metrics.Ready.Set(1);
        return (true, "ready");
    }

    private HashSet<IamRole> RolesInUse()
    {
        var roles = new HashSet<IamRole>();
        foreach (var pod in pods.Snapshot())
        {
            if (pod.Ips.Count > 0
                && serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment)
                && assignment is RoleAssignment.Assigned assigned
                && (guard is null || guard.Check(assigned.Role.Arn, pod.Name.Namespace).IsPermitted))
            {
                roles.Add(assigned.Role);
            }
        }

        return roles;
    }
}
