using Iam4Kube.Credentials;

namespace Iam4Kube.Tests.Credentials;

public sealed class FreshnessPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly FreshnessPolicy _policy = new(TimeSpan.FromHours(1));

    private static RoleCredentials ExpiringIn(TimeSpan left) => new("ASIAEXAMPLE", "secret", "token", Now + left, Now);

    [Fact]
    public void ServesCredentialsWithAtLeastFifteenMinutesLeft()
    {
        Assert.Equal(TimeSpan.FromMinutes(15), _policy.MinRemaining);
        Assert.True(_policy.IsServable(new CredentialState(ExpiringIn(TimeSpan.FromMinutes(15)), null), Now));
        Assert.False(_policy.IsServable(new CredentialState(ExpiringIn(TimeSpan.FromMinutes(14)), null), Now));
    }

    [Fact]
    public void AShortSessionAServiceAccountAskedForIsServableWhenFreshAndRefreshedLater()
    {
        var fifteen = TimeSpan.FromMinutes(15);
        Assert.Equal(TimeSpan.FromMinutes(3.75), _policy.MinRemainingFor(fifteen));
        Assert.True(_policy.IsServable(new CredentialState(ExpiringIn(fifteen), null), Now, fifteen));
        Assert.False(_policy.IsServable(new CredentialState(ExpiringIn(TimeSpan.FromMinutes(3)), null), Now, fifteen));
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
        Assert.Equal(Now, _policy.RefreshAt(ExpiringIn(TimeSpan.FromMinutes(10)), Now, 0.5));
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
