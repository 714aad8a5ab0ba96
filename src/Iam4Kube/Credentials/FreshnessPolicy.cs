namespace Iam4Kube.Credentials;

/// <summary>
/// When credentials are good enough to serve and when to refresh them. AWS SDKs refresh instance credentials 15
/// minutes before they expire (botocore, the Java and .NET SDKs); serving credentials with less left than that makes
/// every SDK call back at once, a refresh storm. So while STS is healthy we serve only credentials with at least
/// <see cref="MinRemaining"/> left, and refresh well before that point, at a random moment so that entries fetched
/// together do not all refresh together.
/// </summary>
internal sealed class FreshnessPolicy(TimeSpan sessionDuration)
{
    private static readonly TimeSpan SdkRefreshWindow = TimeSpan.FromMinutes(15);

    // While STS fails, credentials are served until this close to expiry: a little slack for clock skew and for
    // the request in flight.
    private static readonly TimeSpan ExpirySafety = TimeSpan.FromSeconds(60);

    public TimeSpan SessionDuration => sessionDuration;

    /// <summary>The longest session STS grants here (role chaining: 1 h); longer requests are clamped to it.</summary>
    public TimeSpan? MaxSessionDuration { get; init; }

    /// <summary>15 minutes, or a quarter of a shorter session (STS allows 15-minute sessions).</summary>
    public TimeSpan MinRemaining { get; } = sessionDuration / 4 < SdkRefreshWindow ? sessionDuration / 4 : SdkRefreshWindow;

    /// <summary>
    /// <see cref="MinRemaining"/> for a role's own session duration (iam.amazonaws.com/sessionDuration) when it has
    /// one: 15-minute sessions must not be "too old" the moment they arrive, which would refresh them in a loop.
    /// </summary>
    public TimeSpan MinRemainingFor(TimeSpan? roleSessionDuration) =>
        roleSessionDuration is { } own && own / 4 < SdkRefreshWindow ? own / 4
        : roleSessionDuration is null ? MinRemaining
        : SdkRefreshWindow;

    /// <summary>Credentials a request may be given now (for a role with its own session duration, if given).</summary>
    public bool IsServable(CredentialState state, DateTimeOffset now, TimeSpan? roleSessionDuration = null)
    {
        if (state.Current is not { } current)
        {
            return false;
        }

        var remaining = current.RemainingAt(now);
        return remaining >= MinRemainingFor(roleSessionDuration) || (!state.Healthy && remaining > ExpirySafety);
    }

    /// <summary>
    /// When to start refreshing credentials obtained at <paramref name="now"/>: between 50% and 75% of the way to
    /// the point where they stop being servable. For a 1 h session that is 22-34 minutes in, leaving 11-22 minutes
    /// for retries before any request has to wait.
    /// </summary>
    public DateTimeOffset RefreshAt(RoleCredentials credentials, DateTimeOffset now, double random, TimeSpan? roleSessionDuration = null)
    {
        var usable = credentials.Expiration - MinRemainingFor(roleSessionDuration) - now;
        if (usable <= TimeSpan.Zero)
        {
            return now;
        }

        return now + (usable * (0.5 + (0.25 * Math.Clamp(random, 0, 1))));
    }
}
