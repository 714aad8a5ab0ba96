using Iam4Kube.Credentials;

namespace Iam4Kube.Tests.Credentials;

public sealed class FreshnessPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly FreshnessPolicy _policy = new(TimeSpan.FromHours(1));

    private static RoleCredentials ExpiringIn(TimeSpan left) => new("ASIAEXAMPLE", "secret", "token", Now + left, Now);

    /// <summary>Credentials that lived <paramref name="life"/> when issued and have <paramref name="left"/> now.</summary>
    private static RoleCredentials Aged(TimeSpan left, TimeSpan life) => new("ASIAEXAMPLE", "secret", "token", Now + left, Now + left - life);

    [Fact]
    public void ServesCredentialsWithAtLeastFifteenMinutesLeft()
    {
        Assert.Equal(TimeSpan.FromMinutes(15), _policy.MinRemaining);
        Assert.True(_policy.IsServable(new CredentialState(Aged(TimeSpan.FromMinutes(15), TimeSpan.FromHours(1)), null), Now));
        Assert.False(_policy.IsServable(new CredentialState(Aged(TimeSpan.FromMinutes(14), TimeSpan.FromHours(1)), null), Now));
    }

    [Fact]
    public void AShortSessionAServiceAccountAskedForIsServableWhenFreshAndRefreshedLater()
    {
        var fifteen = TimeSpan.FromMinutes(15);
        Assert.Equal(TimeSpan.FromMinutes(3.75), _policy.MinRemainingFor(fifteen));
        Assert.True(_policy.IsServable(new CredentialState(ExpiringIn(fifteen), null), Now, fifteen));
        Assert.False(_policy.IsServable(new CredentialState(Aged(TimeSpan.FromMinutes(3), fifteen), null), Now, fifteen));
        Assert.InRange(_policy.RefreshAt(ExpiringIn(fifteen), Now, 0, fifteen), Now + TimeSpan.FromMinutes(5), Now + TimeSpan.FromMinutes(9));

        // Longer sessions keep the SDKs' 15-minute window.
        Assert.Equal(TimeSpan.FromMinutes(15), _policy.MinRemainingFor(TimeSpan.FromHours(4)));
    }

    [Fact]
    public void KeepsServingStillValidCredentialsWhileStsFails()
    {
        var failing = new CredentialState(ExpiringIn(TimeSpan.FromMinutes(5)), new CredentialFailure("Throttling", "slow down", false, Now));
        Assert.True(_policy.IsServable(failing, Now));
    }

    [Fact]
    public void NeverServesExpiredOrAlmostExpiredCredentials()
    {
        var failing = new CredentialFailure("InternalFailure", "boom", false, Now);
        Assert.False(_policy.IsServable(new CredentialState(ExpiringIn(TimeSpan.FromSeconds(30)), failing), Now));
        Assert.False(_policy.IsServable(new CredentialState(ExpiringIn(TimeSpan.FromMinutes(-1)), failing), Now));
        Assert.False(_policy.IsServable(CredentialState.Pending, Now));
    }

    [Fact]
    public void RefreshesBetweenHalfAndThreeQuartersOfTheServableLifetime()
    {
        var credentials = ExpiringIn(TimeSpan.FromHours(1));
        Assert.Equal(Now + TimeSpan.FromMinutes(22.5), _policy.RefreshAt(credentials, Now, 0));
        Assert.Equal(Now + TimeSpan.FromMinutes(33.75), _policy.RefreshAt(credentials, Now, 1));
    }

    [Fact]
    public void RefreshTimesOfEntriesFetchedTogetherAreSpread()
    {
        var credentials = ExpiringIn(TimeSpan.FromHours(1));
        var random = new Random(7);
        var times = Enumerable.Range(0, 2000).Select(_ => _policy.RefreshAt(credentials, Now, random.NextDouble())).ToList();
        var perMinute = times.GroupBy(t => (int)(t - Now).TotalMinutes).Select(g => g.Count()).ToList();
        Assert.True(perMinute.Count >= 11, $"refreshes fall into only {perMinute.Count} distinct minutes");
        Assert.True(perMinute.Max() < 2000 / 8, $"up to {perMinute.Max()} refreshes share one minute");
    }

    [Fact]
    public void ShortSessionsUseAQuarterOfTheirLifetimeAsMargin()
    {
        var policy = new FreshnessPolicy(TimeSpan.FromMinutes(15));
        Assert.Equal(TimeSpan.FromMinutes(3.75), policy.MinRemaining);
    }

    [Fact]
    public void CredentialsAlreadyTooOldAreRefreshedAtOnce()
    {
        Assert.Equal(Now, _policy.RefreshAt(Aged(TimeSpan.FromMinutes(10), TimeSpan.FromHours(1)), Now, 0.5));
    }

    [Fact]
    public void ShortLivedCredentialsAreServedDownToAQuarterOfTheirLifeButNeverBelowTheHardMinimum()
    {
        // A node clock STS disagrees with beyond the Date correction, or a session STS shortened: ten minutes of life.
        var ten = ExpiringIn(TimeSpan.FromMinutes(10));
        Assert.True(_policy.IsShortLived(ten));
        Assert.Equal(TimeSpan.FromMinutes(2.5), _policy.FloorFor(ten));
        Assert.True(_policy.IsServable(new CredentialState(ten, null), Now));
        Assert.True(_policy.IsServable(new CredentialState(ten, null), Now + TimeSpan.FromMinutes(7.5)));
        Assert.False(_policy.IsServable(new CredentialState(ten, null), Now + TimeSpan.FromMinutes(7.6)));
        // Refreshed half to three quarters of the way to that floor, not at once.
        Assert.Equal(Now + TimeSpan.FromMinutes(3.75), _policy.RefreshAt(ten, Now, 0));

        var three = ExpiringIn(TimeSpan.FromMinutes(3));
        Assert.Equal(FreshnessPolicy.HardMinimum, _policy.FloorFor(three));
        Assert.False(_policy.IsServable(new CredentialState(three, null), Now + TimeSpan.FromSeconds(121)));

        // Thirty minutes or more is the usual case: not short, the 15-minute floor.
        var half = ExpiringIn(TimeSpan.FromMinutes(30));
        Assert.False(_policy.IsShortLived(half));
        Assert.Equal(TimeSpan.FromMinutes(7.5), _policy.FloorFor(half));
        Assert.Equal(TimeSpan.FromMinutes(15), _policy.FloorFor(ExpiringIn(TimeSpan.FromHours(1))));
    }

    [Fact]
    public void AClockSkewBeyondTheThresholdIsCorrectedWithStsDateAndASmallerOneIgnored()
    {
        // This node 50 minutes ahead: STS's one-hour credentials expire ten minutes from now on this node's clock.
        var skewed = ExpiringIn(TimeSpan.FromMinutes(10)) with { StsClockSkew = TimeSpan.FromMinutes(50) };
        Assert.Equal(TimeSpan.FromHours(1), skewed.RemainingAt(Now));
        Assert.False(_policy.IsShortLived(skewed));
        Assert.Equal(Now + TimeSpan.FromMinutes(22.5), _policy.RefreshAt(skewed, Now, 0));

        // Behind by as much: the same correction the other way.
        Assert.Equal(TimeSpan.FromMinutes(10), (ExpiringIn(TimeSpan.FromMinutes(60)) with { StsClockSkew = TimeSpan.FromMinutes(-50) }).RemainingAt(Now));

        // Within the threshold (the Date header has whole seconds, and the answer takes time): not corrected.
        var close = ExpiringIn(TimeSpan.FromHours(1)) with { StsClockSkew = TimeSpan.FromSeconds(59) };
        Assert.Equal(TimeSpan.FromHours(1), close.RemainingAt(Now));
    }

    [Fact]
    public void ShortCredentialsAreAskedForAgainNoSoonerThanThirtySecondsThenLessAndLessOften()
    {
        Assert.InRange(RetryBackoff.ShortCredentials(1, 0), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        Assert.InRange(RetryBackoff.ShortCredentials(1, 1), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60));
        Assert.Equal(TimeSpan.FromSeconds(60), RetryBackoff.ShortCredentials(2, 0));
        Assert.Equal(TimeSpan.FromMinutes(5), RetryBackoff.ShortCredentials(10, 1));
    }

    [Fact]
    public void BackoffGrowsWithJitterAndIsSlowerForPermanentFailures()
    {
        Assert.InRange(RetryBackoff.For(1, permanent: false, 0), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));
        Assert.InRange(RetryBackoff.For(4, permanent: false, 1), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(8));
        Assert.Equal(TimeSpan.FromMinutes(5), RetryBackoff.For(30, permanent: false, 1));
        Assert.True(RetryBackoff.For(1, permanent: true, 0) >= TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.FromMinutes(30), RetryBackoff.For(30, permanent: true, 1));
    }

    [Fact]
    public void CredentialsToStringNeverShowsSecrets()
    {
        var text = new RoleCredentials("ASIAKEY", "the-secret", "the-token", Now, Now).ToString();
        Assert.Contains("ASIAKEY", text);
        Assert.DoesNotContain("the-secret", text);
        Assert.DoesNotContain("the-token", text);
    }
}
