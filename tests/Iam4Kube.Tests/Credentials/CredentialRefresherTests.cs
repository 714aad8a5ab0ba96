using Iam4Kube.Credentials;
using Iam4Kube.Observability;
using Iam4Kube.Roles;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.Credentials;

public sealed class CredentialRefresherTests : IAsyncLifetime
{
    private static readonly IamRole Role = new(RoleArnOf("app"), null, "ns@app");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly CredentialStore _store = new();
    private readonly FreshnessPolicy _policy = new(TimeSpan.FromHours(1));
    private readonly StsRateLimiter _limiter = new(1000, 1000);
    private readonly ScriptedIssuer _issuer;
    private readonly CredentialRefresher _refresher;

    public CredentialRefresherTests()
    {
        _issuer = new ScriptedIssuer(_time);
        _refresher = new CredentialRefresher(_store, _issuer, _policy, _limiter, new Iam4KubeMetrics(), _time, NullLogger<CredentialRefresher>.Instance);
    }

    public Task InitializeAsync() => _refresher.StartAsync(CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _refresher.StopAsync(CancellationToken.None);
        await _limiter.DisposeAsync();
    }

    private static RoleArn RoleArnOf(string name) =>
        RoleArn.TryParse($"arn:aws:iam::123456789012:role/{name}", out var arn, out _) ? arn : throw new InvalidOperationException();

    private async Task<CredentialState> NextStateAsync(IamRole role, Func<CredentialState, bool> until)
    {
        while (true)
        {
            using var changed = _store.Changed.Subscribe(role);
            if (_store.Get(role) is { } state && until(state))
            {
                return state;
            }

            await changed.Changed.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task PrefetchesAsSoonAsARoleIsWanted()
    {
        _refresher.Want(Role);
        Assert.Equal(Role, await _issuer.NextCallAsync());
        var state = await NextStateAsync(Role, s => s.Current is not null);
        Assert.True(_policy.IsServable(state, _time.GetUtcNow()));
    }

    [Fact]
    public async Task RefreshesWellBeforeCredentialsStopBeingServable()
    {
        _refresher.Want(Role);
        await _issuer.NextCallAsync();
        var first = (await NextStateAsync(Role, s => s.Current is not null)).Current!;

        // 22 minutes in, nothing yet; by 34 minutes (with 26 left) the refresh has happened.
        _time.Advance(TimeSpan.FromMinutes(22));
        Assert.False(_issuer.HasPendingCall);
        _time.Advance(TimeSpan.FromMinutes(12));
        await _issuer.NextCallAsync();
        var second = (await NextStateAsync(Role, s => s.Current != first)).Current!;
        Assert.True(second.RemainingAt(_time.GetUtcNow()) > _policy.MinRemaining);
    }

    [Fact]
    public async Task KeepsServingStillValidCredentialsWhileStsFailsAndRetriesWithBackoff()
    {
        _refresher.Want(Role);
        await _issuer.NextCallAsync();
        var good = (await NextStateAsync(Role, s => s.Current is not null)).Current!;

        _issuer.Failure = new CredentialIssueException("Throttling", "Rate exceeded", permanent: false);
        _time.Advance(TimeSpan.FromMinutes(34));
        await _issuer.NextCallAsync();
        var failing = await NextStateAsync(Role, s => s.Failure is not null);
        Assert.Same(good, failing.Current);
        Assert.True(_policy.IsServable(failing, _time.GetUtcNow()));

        // Retries come with growing gaps, not in a hot loop.
        await NextStateAsync(Role, s => s.Failure is not null);
        _time.Advance(TimeSpan.FromSeconds(1));
        await _issuer.NextCallAsync();
        await FailureObservedAsync();
        Assert.False(_issuer.HasPendingCall);

        // Past the SDK refresh window the old credentials are still served while STS keeps failing...
        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.True(_policy.IsServable(_store.Get(Role)!, _time.GetUtcNow()));
        await _issuer.NextCallAsync();
        await FailureObservedAsync();

        // ...and once STS recovers, fresh ones replace them (the retry is a few seconds away: at most 5 minutes).
        _issuer.Failure = null;
        var recovered = await AdvanceUntilAsync(s => s.Healthy && s.Current != good, TimeSpan.FromMinutes(5));
        Assert.True(recovered.Current!.RemainingAt(_time.GetUtcNow()) > TimeSpan.FromMinutes(50));
    }

    /// <summary>
    /// Moves the fake clock forward a second at a time, up to <paramref name="limit"/>, until the role's state
    /// satisfies <paramref name="until"/>. One jump of the whole limit can land between the refresher reading the
    /// clock and arming its timer, which then counts its delay from after the jump and never fires.
    /// </summary>
    private async Task<CredentialState> AdvanceUntilAsync(Func<CredentialState, bool> until, TimeSpan limit)
    {
        for (var advanced = TimeSpan.Zero; ; advanced += TimeSpan.FromSeconds(1))
        {
            using var changed = _store.Changed.Subscribe(Role);
            if (_store.Get(Role) is { } state && until(state))
            {
                return state;
            }

            Assert.True(advanced < limit, $"the state did not change as expected within {limit} of fake time");
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(changed.Changed, Task.Delay(TimeSpan.FromMilliseconds(50)));
        }
    }

    /// <summary>Waits until the refresher has recorded a failure at the current (fake) time, i.e. has scheduled its retry.</summary>
    private Task<CredentialState> FailureObservedAsync()
    {
        var now = _time.GetUtcNow();
        return NextStateAsync(Role, s => s.Failure is { } f && f.At >= now);
    }

    [Fact]
    public async Task AccessDeniedIsPermanentAndRetriedOnlySlowly()
    {
        _issuer.Failure = new CredentialIssueException("AccessDenied", "not authorized to perform sts:AssumeRole", permanent: true);
        _refresher.Want(Role);
        await _issuer.NextCallAsync();
        var state = await NextStateAsync(Role, s => s.Failure is not null);
        Assert.True(state.Failure!.Permanent);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(_issuer.HasPendingCall);
        _time.Advance(TimeSpan.FromMinutes(1));
        await _issuer.NextCallAsync();
    }

    [Fact]
    public async Task ForgottenRolesAreDroppedAndNoLongerRefreshed()
    {
        _refresher.Want(Role);
        await _issuer.NextCallAsync();
        await NextStateAsync(Role, s => s.Current is not null);

        _refresher.Forget(Role);
        await Eventually(() => _store.Get(Role) is null);
        _time.Advance(TimeSpan.FromHours(2));
        Assert.False(_issuer.HasPendingCall);
    }

    [Fact]
    public async Task ShortLivedCredentialsAreServedAndRequestsAskingForARefreshNeverBringTheNextCallCloserThanItsSpacing()
    {
        // 80 s of life: far below the 15-minute floor; served down to the last minute, so for 20 s.
        _issuer.Lifetime = TimeSpan.FromSeconds(80);
        _refresher.Want(Role);
        await _issuer.NextCallAsync();
        var first = (await NextStateAsync(Role, s => s.Current is not null)).Current!;
        Assert.True(_policy.IsShortLived(first));
        Assert.True(_policy.IsServable(_store.Get(Role)!, _time.GetUtcNow()));
        Assert.Contains("live 80 s", first.ShortLivedNotice, StringComparison.Ordinal);

        // Requests keep asking (every second, and from 20 s on they find nothing servable): no STS call before the
        // spacing's least 30 s.
        for (var i = 0; i < 29; i++)
        {
            _refresher.RefreshSoon(Role);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.False(_issuer.HasPendingCall);
        Assert.Single(_issuer.Calls);

        Assert.False(_policy.IsServable(_store.Get(Role)!, _time.GetUtcNow()));

        // By 60 s (the spacing's most) the refresh has happened.
        _time.Advance(TimeSpan.FromSeconds(31));
        await _issuer.NextCallAsync();
        var second = (await NextStateAsync(Role, s => s.Current != first)).Current!;

        // The second short answer in a row doubles the spacing: nothing for the next 59 s, whatever is asked.
        for (var i = 0; i < 59; i++)
        {
            _refresher.RefreshSoon(Role);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.False(_issuer.HasPendingCall);
        Assert.Equal(2, _issuer.Calls.Count);
        Assert.NotNull(second.ShortLivedNotice);
    }

    [Fact]
    public async Task ASkewedNodeClockIsCorrectedWithStsDateSoOneHourCredentialsAreNotShortLived()
    {
        // This node is 50 minutes ahead of STS: one-hour credentials look like ten minutes to its clock.
        _issuer.Lifetime = TimeSpan.FromMinutes(10);
        _issuer.ClockSkew = TimeSpan.FromMinutes(50);
        _refresher.Want(Role);
        await _issuer.NextCallAsync();
        var credentials = (await NextStateAsync(Role, s => s.Current is not null)).Current!;
        Assert.False(_policy.IsShortLived(credentials));
        Assert.Null(credentials.ShortLivedNotice);
        Assert.Equal(TimeSpan.FromHours(1), credentials.RemainingAt(_time.GetUtcNow()));

        // Refreshed on the usual schedule (22-34 minutes in), not every few seconds.
        _time.Advance(TimeSpan.FromMinutes(22));
        Assert.False(_issuer.HasPendingCall);
        _time.Advance(TimeSpan.FromMinutes(12));
        await _issuer.NextCallAsync();
    }

    private static async Task Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }
}
