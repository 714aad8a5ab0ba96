using System.Net;
using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Observability;
using Iam4Kube.Roles;
using Iam4Kube.Waiting;

namespace Iam4Kube.Metadata;

/// <summary>
/// Turns a request's source IP into its pod, the pod's ServiceAccount role, the role's credentials or the pod's
/// node. What is not known yet is waited for: the request parks on the signal of the event that would complete
/// it (the pod's IP appearing, the ServiceAccount arriving, the credentials being fetched) until the wait timeout
/// or until the client goes away. The answer for an IP always comes from the pod that owns it at that moment.
/// </summary>
internal sealed class CallerResolver(
    PodIndex pods,
    ServiceAccountStore serviceAccounts,
    NodeStore nodes,
    CredentialStore credentials,
    CredentialRefresher refresher,
    FreshnessPolicy freshness,
    ParkedRequestBudget parked,
    ViewFreshness view,
    Iam4KubeMetrics metrics,
    TimeProvider time,
    TimeSpan waitTimeout)
{
    public async ValueTask<Resolution> ResolveAsync(IPAddress ip, Need need, string boundUid, CancellationToken aborted)
    {
        var resolution = TryResolve(ip, need, boundUid, out _);
        if (resolution.IsFinal)
        {
            return resolution;
        }

        if (!parked.TryEnter())
        {
            return new Resolution(ResolutionOutcome.TooManyParked, Detail: $"more than {parked.Limit} requests are already waiting");
        }

        metrics.Parked.Inc();
        var started = time.GetTimestamp();
        try
        {
            return await WaitAsync(ip, need, boundUid, aborted);
        }
        finally
        {
            parked.Leave();
            metrics.Parked.Dec();
            metrics.ParkedDuration.Observe(time.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task<Resolution> WaitAsync(IPAddress ip, Need need, string boundUid, CancellationToken aborted)
    {
        using var timeout = new CancellationTokenSource(waitTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, timeout.Token, parked.Released);
        var abandoned = Task.Delay(Timeout.Infinite, linked.Token);
        while (true)
        {
            // Subscribe before re-checking: an event between the check and the wait still wakes us.
            using var podChanged = pods.Changed.Subscribe(ip);
            var resolution = TryResolve(ip, need, boundUid, out var waitFor);
            if (resolution.IsFinal)
            {
                return resolution;
            }

            var (otherChanged, release) = waitFor switch
            {
                WaitFor.ServiceAccount => Track(serviceAccounts.Changed.Subscribe(resolution.Pod!.ServiceAccountName)),
                WaitFor.Node when resolution.Pod!.NodeName is { } node => Track(nodes.Changed.Subscribe(node)),
                WaitFor.Credentials => Track(credentials.Changed.Subscribe(resolution.Role!)),
                _ => (null, null),
            };
            using var releaseOther = release;

            // The state may have changed between TryResolve and the second subscription: check once more.
            if (otherChanged is not null)
            {
                resolution = TryResolve(ip, need, boundUid, out _);
                if (resolution.IsFinal)
                {
                    return resolution;
                }
            }

            await Task.WhenAny(podChanged.Changed, otherChanged ?? abandoned, abandoned);
            if (linked.IsCancellationRequested)
            {
                if (aborted.IsCancellationRequested)
                {
                    return new Resolution(ResolutionOutcome.ClientGone);
                }

                // Draining for shutdown: what is still unknown may become known on another replica; say so.
                var last = TryResolve(ip, need, boundUid, out _);
                return last.IsFinal || !parked.Released.IsCancellationRequested || timeout.IsCancellationRequested
                    ? last
                    : new Resolution(ResolutionOutcome.ShuttingDown, last.Pod, last.Role, Detail: "this replica is shutting down; retry");
            }
        }
    }

    private static (Task? Changed, IDisposable? Release) Track<TKey>(KeyedSignal<TKey>.Subscription subscription)
        where TKey : notnull => (subscription.Changed, subscription);

    /// <summary>One non-blocking attempt; says what to wait for when it cannot finish.</summary>
    public Resolution TryResolve(IPAddress ip, Need need, string boundUid, out WaitFor waitFor)
    {
        waitFor = WaitFor.Pod;
        if (view.IsTooOld(out var stale, out var age))
        {
            // A frozen pod→IP map is how an IP's new owner gets its previous owner's role: say nothing rather than guess.
            return new Resolution(ResolutionOutcome.ViewTooOld,
                Detail: $"this replica's view of {stale} is {age.TotalSeconds:F0}s old (more than {view.MaxAge.TotalSeconds:F0}s); retry");
        }

        var lookup = pods.Lookup(ip);
        if (lookup.Result != PodLookupResult.Found)
        {
            return lookup.Result == PodLookupResult.Ambiguous
                ? new Resolution(ResolutionOutcome.PodAmbiguous, Detail: $"more than one running pod claims {ip}")
                : new Resolution(ResolutionOutcome.PodUnknown, Detail: $"no running pod has IP {ip}");
        }

        var pod = lookup.Pod!;
        if (boundUid.Length > 0 && !string.Equals(boundUid, pod.Uid, StringComparison.Ordinal))
        {
            return new Resolution(ResolutionOutcome.TokenPodMismatch, pod, Detail: $"the session token was issued to another pod than {pod.Name}");
        }

        if (need == Need.Node)
        {
            waitFor = WaitFor.Node;
            return pod.NodeName is { } nodeName && nodes.Get(nodeName) is { } node
                ? new Resolution(ResolutionOutcome.Resolved, pod, Node: node)
                : new Resolution(ResolutionOutcome.NodeUnknown, pod, Detail: $"node '{pod.NodeName}' of pod {pod.Name} is not known");
        }

        waitFor = WaitFor.ServiceAccount;
        if (!serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment))
        {
            return new Resolution(ResolutionOutcome.ServiceAccountUnknown, pod, Detail: $"ServiceAccount {pod.ServiceAccountName} of pod {pod.Name} is not known");
        }

        IamRole role;
        switch (assignment)
        {
            case RoleAssignment.Assigned assigned:
                role = assigned.Role;
                break;
            case RoleAssignment.Invalid invalid:
                return new Resolution(ResolutionOutcome.InvalidRole, pod, Detail: $"ServiceAccount {pod.ServiceAccountName}: {invalid.Reason}");
            default:
                return new Resolution(ResolutionOutcome.NoRole, pod, Detail: $"ServiceAccount {pod.ServiceAccountName} has no {RoleAnnotations.RoleArnKey} annotation");
        }

        if (need == Need.Role)
        {
            return new Resolution(ResolutionOutcome.Resolved, pod, role);
        }

        waitFor = WaitFor.Credentials;
        var state = credentials.Get(role);
        var now = time.GetUtcNow();
        if (state is not null && freshness.IsServable(state, now))
        {
            return new Resolution(ResolutionOutcome.Resolved, pod, role, state.Current);
        }

        if (state?.Failure is { Permanent: true } failure)
        {
            return new Resolution(ResolutionOutcome.CredentialsDenied, pod, role, Detail: $"STS refused AssumeRole of {role.Arn}: {failure.Code}");
        }

        if (state is { Current: not null, Healthy: true })
        {
            refresher.RefreshSoon(role);
        }

        return new Resolution(ResolutionOutcome.CredentialsUnavailable, pod, role,
            Detail: state?.Failure is { } transient ? $"credentials for {role.Arn} are not available yet: STS answered {transient.Code}" : $"credentials for {role.Arn} are being fetched");
    }

    internal enum WaitFor
    {
        Pod,
        ServiceAccount,
        Node,
        Credentials,
    }
}
