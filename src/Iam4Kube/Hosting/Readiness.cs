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
/// loses nothing. A role still failing after --ready-wait-for-roles no longer holds the replica back (one throttled
/// role must not stall a rollout, nor keep a restarted cluster closed): the replica turns ready without it, with a
/// Warning Event on that role's pods, a metric and a log line. With --assume-role-arn, the controller role must have
/// been assumed first. Readiness then stays latched (an STS outage must not take every replica out of the Service at
/// once while they still hold valid credentials) until shutdown begins — except while the view of the cluster is
/// older than --max-view-age: then the replica no longer knows who owns an IP and says so.
/// </summary>
internal sealed partial class Readiness(
    IClusterSource cluster,
    PodIndex pods,
    ServiceAccountStore serviceAccounts,
    CredentialStore credentials,
    ViewFreshness freshness,
    Iam4KubeMetrics metrics,
    IPodEvents events,
    TimeProvider time,
    Iam4KubeOptions options,
    ILogger<Readiness> logger,
    ControllerRole? controller = null,
    RoleGuard? guard = null)
{
    /// <summary>Pods per role given the Warning Event when readiness stops waiting for it: enough to be seen, never a flood.</summary>
    internal const int EventsPerRole = 20;

    private readonly Lock _gate = new();
    private volatile bool _latched;
    private volatile bool _shuttingDown;
    private long? _rolesWaitStartedAt;
    private readonly TaskCompletionSource _latchedOnce = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool ShuttingDown => _shuttingDown;

    /// <summary>Completes when readiness first latches: the first sync is done (<see cref="FirstSyncCompaction"/>).</summary>
    public Task Latched => _latchedOnce.Task;

    public void BeginShutdown()
    {
        _shuttingDown = true;
        metrics.Ready.Set(0);
    }

    /// <summary>
    /// Whether to answer ready, and if not, why. <see cref="ReadinessAnswer.Reason"/> names no role (every pod can
    /// reach the admin port through the Service); <see cref="ReadinessAnswer.Detail"/> adds the ARNs, for loopback.
    /// </summary>
    public ReadinessAnswer Check()
    {
        if (_shuttingDown)
        {
            return new(false, "shutting down");
        }

        if (freshness.IsTooOld(out var stale, out var age))
        {
            // Not latched: a replica cut off from the API server (others fine) must leave the Service so ip2service
            // routes around it, and come back once its view is fresh again.
            metrics.Ready.Set(0);
            return new(false, $"the view of {stale} is {age.TotalSeconds:F0}s old (more than --max-view-age {freshness.MaxAge.TotalSeconds:F0}s)");
        }

        if (_latched)
        {
            metrics.Ready.Set(1);
            return new(true, "ready");
        }

        if (!cluster.Synced.IsCompletedSuccessfully)
        {
            return new(false, "waiting for the first list of pods, serviceaccounts and nodes");
        }

        // --assume-role-arn: without the controller role no application role can be assumed, so nothing could be served.
        if (controller?.Problem is { } problem)
        {
            return new(false, "waiting for the controller role (--assume-role-arn)", problem);
        }

        lock (_gate)
        {
            return CheckRoles();
        }
    }

    private ReadinessAnswer CheckRoles()
    {
        if (_latched)
        {
            return new(true, "ready");
        }

        var waiting = new List<(IamRole Role, List<PodInfo> Pods)>();
        foreach (var (role, users) in RolesInUse())
        {
            var state = credentials.Get(role);
            if (state is { Current: not null } || state?.Failure is { Permanent: true })
            {
                continue;
            }

            waiting.Add((role, users));
        }

        if (waiting.Count > 0)
        {
            _rolesWaitStartedAt ??= time.GetTimestamp();
            var waited = time.GetElapsedTime(_rolesWaitStartedAt.Value);
            if (waited < options.ReadyWaitForRoles)
            {
                return new(false, $"waiting for the credentials of {waiting.Count} roles in use",
                    $"waiting for the credentials of {waiting.Count} roles in use (e.g. {waiting[0].Role.Arn}); at most {options.ReadyWaitForRoles.TotalSeconds:0}s (--ready-wait-for-roles)");
            }

            ReadyWithout(waiting, waited);
        }

        _latched = true;
        _latchedOnce.TrySetResult();
        metrics.Ready.Set(1);
        return new(true, "ready");
    }

    /// <summary>Gives up waiting for <paramref name="waiting"/>: say so where each audience looks.</summary>
    private void ReadyWithout(List<(IamRole Role, List<PodInfo> Pods)> waiting, TimeSpan waited)
    {
        metrics.RolesSkippedForReadiness.Inc(waiting.Count);
        foreach (var (role, users) in waiting)
        {
            var why = credentials.Get(role)?.Failure is { } failure ? $"STS answered {failure.Summary}" : "STS has not answered yet";
            Log.ReadyWithoutRole(logger, role.Arn.Value, role.SessionName, waited, why, users.Count);
            var message = $"iam4kube replica {Environment.MachineName} turned ready after {waited.TotalSeconds:0}s (--ready-wait-for-roles) without credentials for "
                + $"{role.Arn} as {role.SessionName}: {why}. Requests for this role wait (then 503) until STS answers; other roles are served.";
            foreach (var pod in users.Take(EventsPerRole))
            {
                events.Record(pod, PodEventReason.IamCredentialsDelayed, message);
            }
        }
    }

    private Dictionary<IamRole, List<PodInfo>> RolesInUse()
    {
        var roles = new Dictionary<IamRole, List<PodInfo>>();
        foreach (var pod in pods.Snapshot())
        {
            if (pod.Ips.Count > 0
                && serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment)
                && assignment is RoleAssignment.Assigned assigned
                && (guard is null || guard.Check(assigned.Role.Arn, pod.Name.Namespace).IsPermitted))
            {
                if (!roles.TryGetValue(assigned.Role, out var users))
                {
                    users = [];
                    roles[assigned.Role] = users;
                }

                users.Add(pod);
            }
        }

        return roles;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Ready without credentials for {RoleArn} as {SessionName} after waiting {Waited} (--ready-wait-for-roles): {Why}; {Pods} pods use it and wait for it, other roles are served")]
        public static partial void ReadyWithoutRole(ILogger logger, string roleArn, string sessionName, TimeSpan waited, string why, int pods);
    }
}

/// <summary>/readyz's answer: <paramref name="Reason"/> for anyone, <paramref name="Detail"/> (role ARNs) only for loopback callers.</summary>
internal readonly record struct ReadinessAnswer(bool Ready, string Reason, string? Detail = null);
