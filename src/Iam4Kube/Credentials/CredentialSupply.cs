using Iam4Kube.Outcomes;
using Iam4Kube.Roles;

namespace Iam4Kube.Credentials;

/// <summary>
/// Role → credentials, as the doors see it: the cached credentials when they are fresh enough to serve, a final
/// refusal when STS denied the role for good, otherwise "unavailable" (and a nudge to refresh early when what is
/// cached has become too old to serve).
/// </summary>
internal sealed class CredentialSupply(CredentialStore store, CredentialRefresher refresher, FreshnessPolicy freshness, TimeProvider time)
{
    public CredentialsDecision Get(IamRole role)
    {
        var state = store.Get(role);
        if (state is not null && freshness.IsServable(state, time.GetUtcNow(), role.SessionDuration))
        {
            return new CredentialsDecision(Outcome.Resolved, state.Current);
        }

        if (state?.Failure is { Permanent: true } failure)
        {
            return new CredentialsDecision(Outcome.StsDenied, Detail: $"STS refused AssumeRole of {role.Arn}: {failure.Summary}");
        }

        if (state is { Current: not null, Healthy: true })
        {
            refresher.RefreshSoon(role);
        }

        return new CredentialsDecision(Outcome.CredentialsUnavailable,
            Detail: state?.Failure is { } transient ? $"credentials for {role.Arn} are not available yet: STS answered {transient.Code}" : $"credentials for {role.Arn} are being fetched");
    }

    /// <summary>The credentials cached for <paramref name="role"/>, servable or not (iam/info's LastUpdated).</summary>
    public RoleCredentials? Peek(IamRole role) => store.Get(role)?.Current;

    /// <summary>Wakes when the credentials of <paramref name="role"/> change.</summary>
    public IDisposable WatchForChange(IamRole role, out Task changed)
    {
        var subscription = store.Changed.Subscribe(role);
        changed = subscription.Changed;
        return subscription;
    }
}
