using System.Threading.Channels;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Watching;
using Ip2Service.Nodes;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Ip2Service.Tests.TestSupport;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Ip2Service.Tests.Nodes;

/// <summary>The startup taint against the fake kube-apiserver (real KubernetesClient), with the real syncer writing
/// to an in-memory iptables: lifted only once the rules are written and read back, kept while iptables-restore fails,
/// and no other taint is touched.</summary>
public sealed class StartupTaintLifterTests : IAsyncLifetime
{
    private const string NodeName = "node-1";
    private const string Taint = "iam4kube.io/router-not-ready";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private readonly FakeKubernetesApiServer _api = new();
    private KubernetesApi? _connection;
    private readonly FakeIptables _iptables = new();
    private readonly Channel<DesiredState> _desired = Channel.CreateUnbounded<DesiredState>();
    private readonly Ip2ServiceMetrics _metrics = new(Metrics.NewCustomRegistry());
    private RuleSyncer? _syncer;
    private StartupTaintLifter? _lifter;

    public async Task InitializeAsync()
    {
        await _api.StartAsync();
        var node = KubeObjects.Node(NodeName);
        node.Spec ??= new V1NodeSpec();
        node.Spec.Taints =
        [
            new V1Taint { Key = "node.kubernetes.io/not-ready", Effect = "NoSchedule" },
            new V1Taint { Key = Taint, Value = "true", Effect = "NoSchedule" },
            new V1Taint { Key = "team.example/dedicated", Value = "batch", Effect = "NoExecute" },
        ];
        _api.Create(node);
    }

    public async Task DisposeAsync()
    {
        if (_lifter is not null)
        {
            await _lifter.StopAsync(CancellationToken.None);
            _lifter.Dispose();
        }
        if (_syncer is not null)
        {
            await _syncer.StopAsync(CancellationToken.None);
            _syncer.Dispose();
        }
        _connection?.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task LiftsTheTaintOnlyAfterTheRulesAreVerifiedLiveAndKeepsEveryOtherTaint()
    {
        await StartAsync();
        Assert.Empty(NodePatches());

        _desired.Writer.TryWrite(Synced());
        var node = await _api.WaitForAsync<V1Node>(n => n.Metadata.Name == NodeName && n.Spec.Taints.All(t => t.Key != Taint), Bound);

        // The rules the taint waited for are live: both chains, the DNAT to the endpoint.
        var chain = ChainNames.For(InterceptTarget.Default);
        Assert.Contains(_iptables.RulesOf("nat", chain), r => r.Contains("--to-destination 10.0.0.1:8080", StringComparison.Ordinal));
        Assert.Contains(_iptables.RulesOf("filter", chain), r => r.Contains("REJECT", StringComparison.Ordinal));
        Assert.Equal(["node.kubernetes.io/not-ready", "team.example/dedicated"], node.Spec.Taints.Select(t => t.Key));
        Assert.Equal("batch", node.Spec.Taints[1].Value);
        Assert.Single(NodePatches());
        await Eventually.TrueAsync(() => _metrics.StartupTaintLifted.Value == 1, Bound, "the lifted gauge was not set");
    }

    [Fact]
    public async Task KeepsTheTaintWhileIptablesRestoreFailsAndLiftsItOnceAWriteSucceeds()
    {
        _iptables.FailNext(int.MaxValue);
        await StartAsync();
        _desired.Writer.TryWrite(Synced());

        // Several failed writes (with backoff) and still no patch: the taint stays, and ip2service says why.
        await Eventually.TrueAsync(() => _metrics.SyncErrors.Value >= 3, Bound, "the syncer did not retry the failing write");
        Assert.Empty(NodePatches());
        Assert.Contains(_api.Get<V1Node>(null, NodeName)!.Spec.Taints, t => t.Key == Taint);
        Assert.Equal(0, _metrics.Ready.Value);
        Assert.Equal(0, _metrics.StartupTaintLifted.Value);

        _iptables.FailNext(0);
        await _api.WaitForAsync<V1Node>(n => n.Metadata.Name == NodeName && n.Spec.Taints.All(t => t.Key != Taint), TimeSpan.FromSeconds(60));
        Assert.Equal(1, _metrics.Ready.Value);
    }

    [Fact]
    public async Task AConflictOnTheNodePatchIsReadAgainAndTheTaintStillLiftedWithoutLosingTheOtherWritersChange()
    {
        // Another controller adds a taint between the lifter's read and its patch: the patch carries the stale
        // resourceVersion, so the API server answers 409 and the lifter must read the Node again, never overwrite.
        var interjected = 0;
        _api.ChangeBeforeNext("PATCH", $"/nodes/{NodeName}", () =>
        {
            var node = _api.Get<V1Node>(null, NodeName)!;
            node.Spec.Taints.Add(new V1Taint { Key = "other.example/agent-not-ready", Effect = "NoSchedule" });
            _api.Update(node);
            Interlocked.Increment(ref interjected);
        });
        await StartAsync();
        _desired.Writer.TryWrite(Synced());

        var lifted = await _api.WaitForAsync<V1Node>(n => n.Metadata.Name == NodeName && n.Spec.Taints.All(t => t.Key != Taint), Bound);
        Assert.Equal(1, interjected);
        Assert.Equal(["node.kubernetes.io/not-ready", "team.example/dedicated", "other.example/agent-not-ready"], lifted.Spec.Taints.Select(t => t.Key));
        Assert.Equal(2, NodePatches().Count);
        await Eventually.TrueAsync(() => _metrics.StartupTaintLifted.Value == 1, Bound, "the lifted gauge was not set");
        Assert.Equal(0, _metrics.StartupTaintErrors.Value);
    }

    [Fact]
    public async Task ANodeWithoutTheTaintIsLeftAlone()
    {
        var node = _api.Get<V1Node>(null, NodeName)!;
        node.Spec.Taints = [];
        _api.Update(node);
        await StartAsync();

        _desired.Writer.TryWrite(Synced());

        await Eventually.TrueAsync(() => _metrics.StartupTaintLifted.Value == 1, Bound, "the lifter did not notice the taint was absent");
        Assert.Empty(NodePatches());
    }

    [Fact]
    public async Task AnApiServerThatNeverAnswersTheNodeReadCostsOneBoundedAttemptAndTheNextOneLiftsTheTaint()
    {
        // The first GET of the Node is accepted and held, unanswered, until the test ends: without a bound on each
        // attempt the lift would wait for it forever and the taint would stay.
        using var held = new ManualResetEventSlim();
        _api.ChangeBeforeNext("GET", $"/nodes/{NodeName}", () => held.Wait(TimeSpan.FromMinutes(2)));
        try
        {
            await StartAsync(attemptTimeout: TimeSpan.FromSeconds(1));
            _desired.Writer.TryWrite(Synced());

            await _api.WaitForAsync<V1Node>(n => n.Metadata.Name == NodeName && n.Spec.Taints.All(t => t.Key != Taint), Bound);
            Assert.Equal(1, _metrics.StartupTaintErrors.Value);
            Assert.Equal(2, _api.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith($"/nodes/{NodeName}", StringComparison.Ordinal)));
            await Eventually.TrueAsync(() => _metrics.StartupTaintLifted.Value == 1, Bound, "the lifted gauge was not set");
        }
        finally
        {
            held.Set();
        }
    }

    private List<RecordedRequest> NodePatches() =>
        [.. _api.Requests.Where(r => r.Method == "PATCH" && r.Path.Contains("/nodes/", StringComparison.Ordinal))];

    private async Task StartAsync(TimeSpan? attemptTimeout = null)
    {
        var readiness = new Readiness(_metrics);
        _syncer = new RuleSyncer(
            [new RuleApplier(_iptables, NullLogger<RuleApplier>.Instance)],
            new DesiredState([new TargetRules(InterceptTarget.Default, EndpointSet.Empty)], Synced: false),
            _desired.Reader,
            readiness,
            _metrics,
            TimeProvider.System,
            TimeSpan.FromSeconds(5),
            NullLogger<RuleSyncer>.Instance);
        _lifter = new StartupTaintLifter(Connect(), NodeName, Taint, readiness, _metrics, TimeProvider.System, NullLogger<StartupTaintLifter>.Instance, attemptTimeout);
        await _syncer.StartAsync(CancellationToken.None);
        await _lifter.StartAsync(CancellationToken.None);
    }

    private static DesiredState Synced() =>
        new(
            [new TargetRules(InterceptTarget.Default, EndpointSet.ForEndpoints([new BackendEndpoint(System.Net.IPAddress.Parse("10.0.0.1"), 8080)], []))],
            Synced: true);

    // ip2service's own connection (as RunCommand makes it from the kubeconfig), not a k8s.Kubernetes.
    private KubernetesApi Connect() =>
        _connection = KubernetesApi.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(_api.KubeconfigPath));
}
