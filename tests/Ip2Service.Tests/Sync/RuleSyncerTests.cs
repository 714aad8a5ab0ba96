using System.Threading.Channels;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Ip2Service.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Iam4Kube.Testing;
using Prometheus;

namespace Ip2Service.Tests.Sync;

public sealed class RuleSyncerTests : IAsyncLifetime
{
    private static readonly TimeSpan ResyncInterval = TimeSpan.FromMilliseconds(100);
    private static readonly string Chain = ChainNames.For(InterceptTarget.Default);

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
            [new RuleApplier(_iptables, NullLogger<RuleApplier>.Instance)],
            new DesiredState([new TargetRules(InterceptTarget.Default, EndpointSet.Empty)], Synced: false),
            _desired.Reader,
            _readiness,
            _metrics,
            TimeProvider.System,
            ResyncInterval,
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

        _desired.Writer.TryWrite(new DesiredState([new TargetRules(InterceptTarget.Default, EndpointSet.Empty)], Synced: true));
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
            [new TargetRules(
                InterceptTarget.Default,
                EndpointSet.ForEndpoints(
                    endpoints.Select(e => BackendEndpoint.TryParse(e, out var parsed) ? parsed : throw new ArgumentException(e)),
                    []))],
            Synced: true);

    [Fact]
    public async Task ChecksTheLiveRulesEveryIntervalWithoutRewritingUnchangedOnes()
    {
        await _syncer.StartAsync(CancellationToken.None);
        await _iptables.NextRestoreAsync();
        _desired.Writer.TryWrite(Synced("10.0.0.1:8080"));
        await _iptables.NextRestoreAsync();
        await _readiness.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));

        // Three checks happened: the histogram counts them.
        await Eventually.TrueAsync(() => CheckCount() >= 3, TimeSpan.FromSeconds(10), "the live rules were not checked three times");

        Assert.Equal(2, _iptables.Restores);
        Assert.Equal(0, RepairCount());
    }

    public static TheoryData<string, string> Sabotage => new()
    {
        { "flushed_chain", $"*nat\n-F {Chain}\nCOMMIT\n" },
        { "missing_jump", $"*nat\n-F PREROUTING\nCOMMIT\n" },
        { "missing_chain", $"*filter\n-F INPUT\n-F FORWARD\n-F {Chain}\n-X {Chain}\nCOMMIT\n" },
        { "foreign_rule", $"*nat\n-I {Chain} 1 -p tcp -j ACCEPT\nCOMMIT\n" },
        { "duplicate_jump", $"*filter\n-A INPUT -j {Chain}\nCOMMIT\n" },
    };

    [Theory]
    [MemberData(nameof(Sabotage))]
    public async Task RepairsWhatSomeoneElseChangedWithinTheIntervalAndCountsTheReason(string reason, string change)
    {
        await _syncer.StartAsync(CancellationToken.None);
        await _iptables.NextRestoreAsync();
        _desired.Writer.TryWrite(Synced("10.0.0.1:8080"));
        await _iptables.NextRestoreAsync();
        var written = _iptables.RulesOf("nat", Chain);

        _iptables.Change(change);
        var repair = await _iptables.NextRestoreAsync();

        Assert.Contains("--to-destination 10.0.0.1:8080", repair, StringComparison.Ordinal);
        Assert.Equal(written, _iptables.RulesOf("nat", Chain));
        Assert.Single(_iptables.RulesOf("nat", "PREROUTING"), r => r.EndsWith("-j " + Chain, StringComparison.Ordinal));
        Assert.Single(_iptables.RulesOf("filter", "INPUT"), r => r.EndsWith("-j " + Chain, StringComparison.Ordinal));
        await Eventually.TrueAsync(() => _metrics.RuleRepairs.WithLabels(reason, "ipv4").Value == 1, TimeSpan.FromSeconds(10), $"no repair counted as {reason}");
        Assert.Equal(1, RepairCount());
    }

    [Fact]
    public async Task RepairsRulesReorderedInItsChain()
    {
        await _syncer.StartAsync(CancellationToken.None);
        await _iptables.NextRestoreAsync();
        _desired.Writer.TryWrite(Synced("10.0.0.1:8080", "10.0.0.2:8080"));
        await _iptables.NextRestoreAsync();
        var written = _iptables.RulesOf("nat", Chain);

        // The same rules, last first: the unconditional DNAT would now take every connection.
        _iptables.Change($"*nat\n:{Chain} - [0:0]\n{string.Concat(written.Reverse().Select(r => $"-A {Chain} {r}\n"))}COMMIT\n");
        await _iptables.NextRestoreAsync();

        Assert.Equal(written, _iptables.RulesOf("nat", Chain));
        await Eventually.TrueAsync(() => _metrics.RuleRepairs.WithLabels("reordered", "ipv4").Value == 1, TimeSpan.FromSeconds(10), "no repair counted as reordered");
    }

    private double RepairCount() =>
        RuleDrift.Reasons.Sum(r => _metrics.RuleRepairs.WithLabels(r, "ipv4").Value);

    private long CheckCount() => _metrics.RuleCheckDuration.WithLabels("ipv4").Count;
}
