using System.Threading.Channels;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Ip2Service.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Ip2Service.Tests.Sync;

public sealed class RuleSyncerTests : IAsyncLifetime
{
    private readonly FakeIptables _iptables = new();
    private readonly Channel<DesiredState> _desired = Channel.CreateBounded<DesiredState>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly Ip2ServiceMetrics _metrics = new(Metrics.NewCustomRegistry());
    private readonly Readiness _readiness;
    private readonly RuleSyncer _syncer;

    public RuleSyncerTests()
    {
        _readiness = new Readiness(_metrics);
        _syncer = new RuleSyncer(
            new RuleApplier(_iptables, InterceptTarget.Default, NullLogger<RuleApplier>.Instance),
            new DesiredState(EndpointSet.Empty, Synced: false),
            _desired.Reader,
            _readiness,
            _metrics,
            TimeProvider.System,
            NullLogger<RuleSyncer>.Instance);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _syncer.StopAsync(CancellationToken.None);
        _syncer.Dispose();
    }

    [Fact]
    public async Task WritesFailClosedRulesBeforeKnowingAnyEndpoint()
    {
        await _syncer.StartAsync(CancellationToken.None);

        var first = await _iptables.NextRestoreAsync();

        Assert.Contains("-j REJECT --reject-with tcp-reset", first, StringComparison.Ordinal);
        Assert.DoesNotContain("DNAT", first, StringComparison.Ordinal);
        Assert.False(_readiness.IsReady);
        Assert.Equal(0, _metrics.Ready.Value);
    }

    [Fact]
    public async Task BecomesReadyOnlyOnceASyncedStateIsLive()
    {
        await _syncer.StartAsync(CancellationToken.None);
        await _iptables.NextRestoreAsync();

        _desired.Writer.TryWrite(Synced("10.0.0.1:8080"));
        var second = await _iptables.NextRestoreAsync();
        await _readiness.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Contains("-j DNAT --to-destination 10.0.0.1:8080", second, StringComparison.Ordinal);
        Assert.Equal(1, _metrics.Ready.Value);
        Assert.Equal(1, _metrics.EndpointsProgrammed.Value);
        Assert.Equal(2, _metrics.Syncs.Value);
        Assert.True(_metrics.LastSync.Value > 1_700_000_000);
    }

    [Fact]
    public async Task BecomesReadyWithoutRewritingWhenTheFirstSyncFindsNoEndpoints()
    {
        await _syncer.StartAsync(CancellationToken.None);
        await _iptables.NextRestoreAsync();

        _desired.Writer.TryWrite(new DesiredState(EndpointSet.Empty, Synced: true));
        await _readiness.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, _iptables.Restores);
    }

    [Fact]
    public async Task DoesNotRewriteTheRulesForAnUnchangedSet()
    {
        await _syncer.StartAsync(CancellationToken.None);
        await _iptables.NextRestoreAsync();
        _desired.Writer.TryWrite(Synced("10.0.0.1:8080"));
        await _iptables.NextRestoreAsync();

        _desired.Writer.TryWrite(Synced("10.0.0.1:8080"));
        _desired.Writer.TryWrite(Synced("10.0.0.2:8080"));
        var next = await _iptables.NextRestoreAsync();

        Assert.Contains("--to-destination 10.0.0.2:8080", next, StringComparison.Ordinal);
        Assert.Equal(3, _iptables.Restores);
    }

    [Fact]
    public async Task RetriesAFailedWriteAndCountsTheError()
    {
        _iptables.FailNext(2);
        await _syncer.StartAsync(CancellationToken.None);

        Assert.StartsWith("FAILED", await _iptables.NextRestoreAsync(), StringComparison.Ordinal);
        Assert.StartsWith("FAILED", await _iptables.NextRestoreAsync(), StringComparison.Ordinal);
        var written = await _iptables.NextRestoreAsync();

        Assert.Contains("-j REJECT", written, StringComparison.Ordinal);
        // The syncer counts a write after iptables-restore returns: give it that moment.
        for (var i = 0; i < 200 && _metrics.Syncs.Value < 1; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(2, _metrics.SyncErrors.Value);
        Assert.Equal(1, _metrics.Syncs.Value);
    }

    [Fact]
    public async Task RetriesWithTheNewestStateAfterAFailedWrite()
    {
        _iptables.FailNext(1);
        await _syncer.StartAsync(CancellationToken.None);
        Assert.StartsWith("FAILED", await _iptables.NextRestoreAsync(), StringComparison.Ordinal);

        _desired.Writer.TryWrite(Synced("10.0.0.3:8080"));
        var written = await _iptables.NextRestoreAsync(TimeSpan.FromSeconds(10));

        Assert.Contains("--to-destination 10.0.0.3:8080", written, StringComparison.Ordinal);
        await _readiness.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static DesiredState Synced(params string[] endpoints) =>
        new(
            EndpointSet.ForEndpoints(
                endpoints.Select(e => BackendEndpoint.TryParse(e, out var parsed) ? parsed : throw new ArgumentException(e)),
                []),
            Synced: true);
}
