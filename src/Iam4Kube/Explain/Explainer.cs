using System.Net;
using Iam4Kube.Credentials;
using Iam4Kube.Identity;
using Iam4Kube.Outcomes;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Waiting;

namespace Iam4Kube.Explain;

/// <summary>
/// Answers "why does this pod get no role, or the wrong one?" from the same stages the doors use: the IP index, the
/// ServiceAccount store, <see cref="RolePolicy"/>, the credentials store, and one non-blocking pass of
/// <see cref="CallerResolver"/> for what the metadata API would answer now.
/// </summary>
internal sealed class Explainer(
    PodIndex pods,
    ServiceAccountStore serviceAccounts,
    RolePolicy policy,
    CredentialStore credentials,
    FreshnessPolicy freshness,
    SourceIpIdentity identity,
    CallerResolver resolver,
    TimeProvider time)
{
    public Explanation ForIp(IPAddress ip)
    {
        ip = PodInfo.Normalize(ip);
        var query = $"ip {ip}";
        var lookup = pods.Lookup(ip);
        if (lookup.Result == PodLookupResult.Found)
        {
            return ForPod(query, lookup.Pod!);
        }

        var answer = AnswerFrom(ip);
        if (lookup.Result == PodLookupResult.Ambiguous)
        {
            var claimants = pods.Claimants(ip).Select(p => $"{p.Name} (uid {p.Uid})").ToList();
            return new Explanation(query, null,
                $"more than one pod claims {ip}; iam4kube answers nothing for it until a full list of pods settles who owns it",
                claimants, null, null, null, answer);
        }

        // Pods that claim no IP (hostNetwork, finished) are not indexed by IP: their IP is not kept.
        return new Explanation(query, null,
            $"no running pod claims {ip} (hostNetwork and finished pods claim none; a new pod may not be seen yet)",
            null, null, null, null, answer);
    }

    public Explanation ForPod(NamespacedName name) =>
        pods.Find(name) is { } pod
            ? ForPod($"pod {name}", pod)
            : new Explanation($"pod {name}", null, $"no pod {name} is known to iam4kube", null, null, null, null,
                new ExplainedAnswer(null, Outcome.PodUnknown.Label, Outcome.PodUnknown.ImdsStatus, Outcome.PodUnknown.IsFinal, "the pod is not known"));

    private Explanation ForPod(string query, PodInfo pod)
    {
        var saName = pod.ServiceAccountName;
        var sa = serviceAccounts.Get(saName);
        var explainedSa = new ExplainedServiceAccount(saName.Namespace, saName.Name, sa is not null, sa?.Annotations.RoleArn, sa?.Annotations.ExternalId is not null);
        var decision = policy.Decide(pod);
        var explainedDecision = new ExplainedDecision(decision.Outcome.Label, decision.Role?.Arn.Value, decision.Role?.SessionName, decision.Role?.ExternalId is not null, decision.Detail);
        var answer = pod.Ips.Count > 0
            ? AnswerFrom(pod.Ips[0])
            : new ExplainedAnswer(null, Outcome.PodUnknown.Label, Outcome.PodUnknown.ImdsStatus, Outcome.PodUnknown.IsFinal,
                $"the pod claims no IP ({pod.Unclaimed}): the metadata API cannot tell its requests apart from others");
        return new Explanation(query, Describe(pod), null, null, explainedSa, explainedDecision, decision.Role is { } role ? Describe(role) : null, answer);
    }

    private static ExplainedPod Describe(PodInfo pod) =>
        new(pod.Name.Namespace, pod.Name.Name, pod.Uid, pod.ServiceAccount, pod.NodeName, [.. pod.Ips.Select(ip => ip.ToString())], pod.Unclaimed);

    private ExplainedCredentials Describe(IamRole role)
    {
        var state = credentials.Get(role);
        if (state is null)
        {
            return new ExplainedCredentials("not wanted: no ServiceAccount iam4kube knows assigns this role", null, null, false, null, null, null, null, null);
        }

        var servable = freshness.IsServable(state, time.GetUtcNow());
        var summary = (state.Current, state.Failure) switch
        {
            (null, null) => "being fetched",
            (null, { Permanent: true }) => "refused by STS",
            (null, _) => "failing: STS has not issued any yet",
            (_, null) => servable ? "fresh" : "too close to expiry: being refreshed",
            (_, _) => servable ? "cached, but the last refresh failed" : "expiring and the last refresh failed",
        };
        return new ExplainedCredentials(summary, state.Current?.AccessKeyId, state.Current?.Expiration, servable, state.NextAttemptAt,
            state.LastStsAnswerAt, state.Failure?.Code, state.Failure?.Message, state.Failure?.Permanent);
    }

    /// <summary>
    /// One non-blocking pass, as a request from <paramref name="ip"/> without an IMDSv2 token would make. Like a
    /// request, it may nudge an early refresh of credentials too old to serve.
    /// </summary>
    private ExplainedAnswer AnswerFrom(IPAddress ip)
    {
        var resolution = resolver.TryResolve(identity.Claim(ip, ""), Need.Credentials, out _);
        var outcome = resolution.IsResolved ? Outcome.CredentialsServed : resolution.Outcome;
        var detail = outcome.IsFinal ? resolution.Detail : $"{resolution.Detail}; a request would wait for a change, then answer this";
        return new ExplainedAnswer(ip.ToString(), outcome.Label, outcome.ImdsStatus, outcome.IsFinal, detail);
    }
}
