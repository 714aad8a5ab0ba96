using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Identity;
using Iam4Kube.Observability;
using Iam4Kube.Outcomes;
using Iam4Kube.Policy;
using Iam4Kube.Stores;

namespace Iam4Kube.Waiting;

/// <summary>
/// Runs a request's claim through the stages — identity (who is calling), policy (what they may have), credentials
/// (what they get), or the pod's node — and waits when a stage does not know yet: the request parks on the signal
/// of the event that would complete it (the pod appearing, the ServiceAccount arriving, the credentials being
/// fetched) until the wait timeout or until the client goes away. Written once for every identifier: the claim
/// says how it identifies and what to watch.
/// </summary>
internal sealed class CallerResolver(
    RolePolicy policy,
    CredentialSupply credentials,
    NodeStore nodes,
    ParkedRequestBudget parked,
    ViewFreshness view,
    Iam4KubeMetrics metrics,
    TimeProvider time,
    TimeSpan waitTimeout)
{
    public async ValueTask<Resolution> ResolveAsync<TClaim>(TClaim claim, Need need, CancellationToken aborted)
        where TClaim : ICallerClaim
    {
        var resolution = TryResolve(claim, need, out _);
        if (resolution.Outcome.IsFinal)
        {
            return resolution;
        }

        if (!parked.TryEnter())
        {
            return new Resolution(Outcome.ParkedLimit, Detail: $"more than {parked.Limit} requests are already waiting");
        }

        metrics.Parked.Inc();
        var started = time.GetTimestamp();
        try
        {
            return await WaitAsync(claim, need, aborted);
        }
        finally
        {
            parked.Leave();
            metrics.Parked.Dec();
            metrics.ParkedDuration.Observe(time.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task<Resolution> WaitAsync<TClaim>(TClaim claim, Need need, CancellationToken aborted)
        where TClaim : ICallerClaim
    {
        using var timeout = new CancellationTokenSource(waitTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, timeout.Token, parked.Released);
        var abandoned = Task.Delay(Timeout.Infinite, linked.Token);
        while (true)
        {
            // Subscribe before re-checking: an event between the check and the wait still wakes us.
            using var callerWatch = claim.WatchForChange(out var callerChanged);
            var resolution = TryResolve(claim, need, out var waitFor);
            if (resolution.Outcome.IsFinal)
            {
                return resolution;
            }

            Task? otherChanged = null;
            Task? policyChanged = null;
            using var otherWatch = waitFor switch
            {
                Stage.Policy => policy.WatchForChange(resolution.Pod!, out otherChanged),
                Stage.Node when resolution.Pod!.NodeName is { } node => Watch(nodes.Changed.Subscribe(node), out otherChanged),
                Stage.Credentials => credentials.WatchForChange(resolution.Role!, out otherChanged),
                _ => null,
            };

            // Waiting for credentials, the role may become forbidden (its namespace's rules, its ServiceAccount): wake
            // for that too, so that the answer is the refusal at once, not credentials fetched meanwhile.
            using var policyWatch = waitFor == Stage.Credentials ? policy.WatchForChange(resolution.Pod!, out policyChanged) : null;

            // The state may have changed between TryResolve and the second subscription: check once more.
            if (otherChanged is not null)
            {
                resolution = TryResolve(claim, need, out _);
                if (resolution.Outcome.IsFinal)
                {
                    return resolution;
                }
            }

            await Task.WhenAny(callerChanged, otherChanged ?? abandoned, policyChanged ?? abandoned, abandoned);
            if (linked.IsCancellationRequested)
            {
                if (aborted.IsCancellationRequested)
                {
                    return new Resolution(Outcome.ClientGone);
                }

                // Draining for shutdown: what is still unknown may become known on another replica; say so.
                var last = TryResolve(claim, need, out _);
                return last.Outcome.IsFinal || !parked.Released.IsCancellationRequested || timeout.IsCancellationRequested
                    ? last
                    : new Resolution(Outcome.ShuttingDown, last.Pod, last.Role, Detail: "this replica is shutting down; retry");
            }
        }
    }

    private static KeyedSignal<TKey>.Subscription Watch<TKey>(KeyedSignal<TKey>.Subscription subscription, out Task changed)
        where TKey : notnull
    {
        changed = subscription.Changed;
        return subscription;
    }

    /// <summary>One non-blocking pass through the stages; says which stage to wait for when it cannot finish.</summary>
    public Resolution TryResolve<TClaim>(TClaim claim, Need need, out Stage waitFor)
        where TClaim : ICallerClaim
    {
        waitFor = Stage.Identity;
        if (view.IsTooOld(out var stale, out var age))
        {
            // A frozen pod→IP map is how an IP's new owner gets its previous owner's role: say nothing rather than
            // guess. Checked before any identifier, so every door refuses alike.
            return new Resolution(Outcome.ViewTooOld,
                Detail: $"this replica's view of {stale} is {age.TotalSeconds:F0}s old (more than {view.MaxAge.TotalSeconds:F0}s); retry");
        }

        var caller = claim.Identify();
        if (!caller.IsIdentified)
        {
            return new Resolution(caller.Outcome, caller.Pod, Detail: caller.Detail);
        }

        var pod = caller.Pod!;
        if (need == Need.Node)
        {
            waitFor = Stage.Node;
            return pod.NodeName is { } nodeName && nodes.Get(nodeName) is { } node
                ? new Resolution(Outcome.Resolved, pod, policy.Decide(pod).Role, Node: node)
                : new Resolution(Outcome.NodeUnknown, pod, Detail: $"node '{pod.NodeName}' of pod {pod.Name} is not known");
        }

        waitFor = Stage.Policy;
        var decision = policy.Decide(pod);
        if (decision.Role is not { } role)
        {
            return new Resolution(decision.Outcome, pod, Detail: decision.Detail);
        }

        if (need == Need.Role)
        {
            return new Resolution(Outcome.Resolved, pod, role, credentials.Peek(role));
        }

        waitFor = Stage.Credentials;
        var supplied = credentials.Get(role);
        return new Resolution(supplied.Outcome, pod, role, supplied.Credentials, Detail: supplied.Detail);
    }

    /// <summary>The stage a request that cannot finish waits for.</summary>
    internal enum Stage
    {
        Identity,
        Policy,
        Node,
        Credentials,
    }
}
