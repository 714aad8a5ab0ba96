namespace Iam4Kube.Credentials;

/// <summary>
/// When credentials are good enough to serve and when to refresh them. AWS SDKs refresh instance credentials 15
/// minutes before they expire (botocore, the Java and .NET SDKs); serving credentials with less left than that makes
/// every SDK call back at once, a refresh storm. So while STS is healthy we serve only credentials with at least
/// <see cref="MinRemaining"/> left, and refresh well before that point, at a random moment so that entries fetched
/// together do not all refresh together.
/// <para>
/// Credentials STS issues with less life than that (a session shortened by STS, a node clock STS disagrees with
/// beyond what the <c>Date</c> correction catches) lower the floor for themselves to a quarter of their life, never
/// below <see cref="HardMinimum"/>: valid credentials are served rather than refused, and asking STS again at once
/// would only bring the same short credentials back (<see cref="RetryBackoff.ShortCredentials"/> spaces the calls).
/// </para>
/// </summary>
internal sealed class FreshnessPolicy(TimeSpan sessionDuration)
{
    /// <summary>
    /// Never serve credentials with less left than this: a request in flight and a little clock slack between nodes
    /// must fit in it. Also how close to expiry credentials are served while STS fails.
    /// </summary>
    public static readonly TimeSpan HardMinimum = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan SdkRefreshWindow = TimeSpan.FromMinutes(15);

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

    /// <summary>
    /// Whether STS gave <paramref name="credentials"/> less than twice the floor of life: too short for the usual
    /// schedule (refresh at half to three quarters of the servable life) to leave room for the SDKs' windows.
    /// </summary>
    public bool IsShortLived(RoleCredentials credentials, TimeSpan? roleSessionDuration = null) =>
        credentials.LifeAtIssue < 2 * MinRemainingFor(roleSessionDuration);

    /// <summary>How close to expiry these credentials are served while STS is healthy.</summary>
    public TimeSpan FloorFor(RoleCredentials credentials, TimeSpan? roleSessionDuration = null)
    {
        var floor = MinRemainingFor(roleSessionDuration);
        var quarter = credentials.LifeAtIssue / 4;
        var own = quarter > HardMinimum ? quarter : HardMinimum;
        return own < floor ? own : floor;
    }

    /// <summary>Credentials a request may be given now (for a role with its own session duration, if given).</summary>
    public bool IsServable(CredentialState state, DateTimeOffset now, TimeSpan? roleSessionDuration = null)
    {
        if (state.Current is not { } current)
        {
            return false;
        }

        var remaining = current.RemainingAt(now);
        return remaining >= FloorFor(current, roleSessionDuration) || (!state.Healthy && remaining > HardMinimum);
    }

    /// <summary>
    /// When to start refreshing credentials obtained at <paramref name="now"/>: between 50% and 75% of the way to
    /// the point where they stop being servable. For a 1 h session that is 22-34 minutes in, leaving 11-22 minutes
    /// for retries before any request has to wait.
    /// </summary>
    public DateTimeOffset RefreshAt(RoleCredentials credentials, DateTimeOffset now, double random, TimeSpan? roleSessionDuration = null)
    {
        var usable = credentials.RemainingAt(now) - FloorFor(credentials, roleSessionDuration);
        if (usable <= TimeSpan.Zero)
        {
            return now;
        }

        return now + (usable * (0.5 + (0.25 * Math.Clamp(random, 0, 1))));
    }
}
