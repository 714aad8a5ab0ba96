using Iam4Kube.Cluster;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.Cluster;

/// <summary>How old the view of the cluster is, per watched resource, and when it is too old to answer from.</summary>
public sealed class ViewFreshnessTests
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(60);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    private ViewFreshness Create(TimeSpan? maxAge = null) => new(_time, maxAge ?? MaxAge, NullLogger<ViewFreshness>.Instance);

    [Fact]
    public void TheStalestResourceDecidesAndIsNamed()
    {
        var view = Create();
        view.Touch("pods");
        view.Touch("serviceaccounts");
        view.Touch("nodes");
        _time.Advance(TimeSpan.FromSeconds(50));
        view.Touch("pods");
        view.Touch("nodes");
        _time.Advance(TimeSpan.FromSeconds(11));

        Assert.True(view.IsTooOld(out var resource, out var age));
        Assert.Equal("serviceaccounts", resource);
        Assert.Equal(TimeSpan.FromSeconds(61), age);
    }

    [Fact]
    public void ATouchMakesTheViewFreshAgain()
    {
        var view = Create();
        view.Touch("pods");
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(view.IsTooOld(out _, out _));

        view.Touch("pods");

        Assert.False(view.IsTooOld(out _, out var age));
        Assert.Equal(TimeSpan.Zero, age);
    }

    [Fact]
    public void AResourceNeverListedIsNotYetOld()
    {
        var view = Create();

        Assert.False(view.IsTooOld(out _, out _));
        Assert.Null(view.Age("pods"));
        Assert.Empty(view.Resources);
    }

    [Fact]
    public void AMaxAgeOfZeroNeverCallsTheViewTooOld()
    {
        var view = Create(TimeSpan.Zero);
        view.Touch("pods");
        _time.Advance(TimeSpan.FromDays(1));

        Assert.False(view.IsTooOld(out _, out _));
        Assert.Equal(TimeSpan.FromDays(1), view.Age("pods"));
    }

    [Fact]
    public async Task AResourceFirstTouchedByManyThreadsAtOnceIsKnownOnce()
    {
        var view = Create();
        using var start = new Barrier(8);
        // Threads of their own: eight blocking waits on the thread pool would wait for it to grow.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                view.Touch("pods");
                view.Touch("nodes");
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)));

        Assert.Equal(["nodes", "pods"], view.Resources.Order());
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(view.IsTooOld(out _, out var age));
        Assert.Equal(TimeSpan.FromSeconds(61), age);
    }
}
