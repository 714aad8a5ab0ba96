using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Watching;
using Ip2Service.Endpoints;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.Endpoints;

/// <summary>The watcher against a fake kube-apiserver over real HTTP, with the real KubernetesClient.</summary>
public sealed class EndpointSliceWatcherTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly FakeKubernetesApiServer _api = new();
    private KubernetesApi? _connection;
    private readonly Channel<DesiredState> _states = Channel.CreateUnbounded<DesiredState>();
    private readonly Ip2ServiceMetrics _metrics = new(Metrics.NewCustomRegistry());
    private EndpointSliceWatcher? _watcher;

    public Task InitializeAsync() => _api.StartAsync();

    public async Task DisposeAsync()
    {
        if (_watcher is not null)
        {
            await _watcher.StopAsync(CancellationToken.None);
            _watcher.Dispose();
        }
        _connection?.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task PublishesTheListedEndpointsThenFollowsEveryChange()
    {
        _api.Create(Slice("iam4kube-a", [Endpoint("10.0.0.1")]));
        _api.Create(Slice("other-service", [Endpoint("10.0.0.99")], service: "other"));

        await StartAsync();
        var listed = await NextAsync();
        Assert.True(listed.Synced);
        Assert.Equal(["10.0.0.1:8080"], Ready(listed));
        Assert.Equal(["10.0.0.1"], listed.Rules[0].Set.Excluded.Select(a => a.ToString()));
        await _api.WaitForWatchAsync("endpointslices");

        _api.Create(Slice("iam4kube-b", [Endpoint("10.0.0.2")]));
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Ready(await NextAsync()));

        _api.Update(Slice("iam4kube-a", [Endpoint("10.0.0.1", ready: false)]));
        var notReady = await NextAsync();
        Assert.Equal(["10.0.0.2:8080"], Ready(notReady));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], notReady.Rules[0].Set.Excluded.Select(a => a.ToString()));

        _api.Delete<V1EndpointSlice>(Namespace, "iam4kube-b");
        Assert.Empty(Ready(await NextAsync()));
    }

    [Fact]
    public async Task PublishesAnEmptySyncedSetWhenTheServiceHasNoSlices()
    {
        await StartAsync();

        var state = await NextAsync();

        Assert.True(state.Synced);
        Assert.Empty(state.Rules[0].Set.Ready);
    }

    [Fact]
    public async Task ResumesFromTheLastResourceVersionWhenAWatchIsDropped()
    {
        _api.Create(Slice("iam4kube-a", [Endpoint("10.0.0.1")]));
        await StartAsync();
        await NextAsync();
        await _api.WaitForWatchAsync("endpointslices");

        _api.DropWatches();
        _api.Create(Slice("iam4kube-b", [Endpoint("10.0.0.2")]));

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Ready(await NextAsync()));
        // One list at start; the change after the drop came through a resumed watch.
        Assert.Single(_api.Requests, r => IsList(r));
    }

    [Fact]
    public async Task RelistsWhenTheWatchExpiresAndSeesChangesItMissed()
    {
        _api.Create(Slice("iam4kube-a", [Endpoint("10.0.0.1")]));
        _api.Create(Slice("iam4kube-b", [Endpoint("10.0.0.2")]));
        await StartAsync();
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Ready(await NextAsync()));
        await _api.WaitForWatchAsync("endpointslices");

        // A deletion no watch saw, then the history is compacted: resuming gets 410 Gone, only a relist can tell.
        _api.DeleteSilently<V1EndpointSlice>(Namespace, "iam4kube-a");
        _api.CompactHistory();
        _api.DropWatches();

        Assert.Equal(["10.0.0.2:8080"], Ready(await NextAsync()));
        Assert.Equal(2, _api.Requests.Count(r => IsList(r)));
        Assert.True(_metrics.WatchRestarts.WithLabels("expired").Value >= 1);
    }

    [Fact]
    public async Task KeepsTryingThroughApiServerErrors()
    {
        _api.Create(Slice("iam4kube-a", [Endpoint("10.0.0.1")]));
        _api.FailNext(2, HttpStatusCode.InternalServerError, "endpointslices");

        await StartAsync();

        Assert.Equal(["10.0.0.1:8080"], Ready(await NextAsync()));
        Assert.True(_metrics.WatchRestarts.WithLabels("error").Value >= 2);
    }

    [Fact]
    public async Task SkipsAndCountsBadEntriesWhileUsingTheRest()
    {
        _api.Create(Slice("iam4kube-v4", [Endpoint("10.0.0.1"), Endpoint("10.0.0.300")]));
        _api.Create(Slice("iam4kube-v6", [Endpoint("10.0.0.2")], addressType: "IPv6"));
        _api.Create(Slice("iam4kube-noport", [Endpoint("10.0.0.3")], portName: "metrics"));

        await StartAsync();

        var state = await NextAsync();
        Assert.Equal(["10.0.0.1:8080"], Ready(state));
        Assert.Equal(1, _metrics.InvalidEndpoints.WithLabels("malformed_address").Value);
        Assert.Equal(1, _metrics.InvalidEndpoints.WithLabels("wrong_family").Value);
        Assert.Equal(1, _metrics.InvalidEndpoints.WithLabels("missing_port").Value);
    }

    [Fact]
    public async Task AHalfOpenWatchIsReplacedAfterTheIdleTimeoutAndTheChangeArrives()
    {
        _api.BookmarkInterval = TimeSpan.FromMilliseconds(300);
        _api.Create(Slice("iam4kube-a", [Endpoint("10.0.0.1")]));
        await StartAsync(new WatchSettings { IdleTimeout = TimeSpan.FromSeconds(1) });
        Assert.Equal(["10.0.0.1:8080"], Ready(await NextAsync()));
        await _api.WaitForWatchAsync("endpointslices");

        // The connection stays open but nothing reaches the watcher any more (a NAT that forgot it).
        Assert.Equal(1, _api.SilenceWatches());
        _api.Create(Slice("iam4kube-b", [Endpoint("10.0.0.2")]));

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Ready(await NextAsync()));
        Assert.True(_metrics.WatchRestarts.WithLabels("idle").Value >= 1);
        Assert.Equal(1, _api.Requests.Count(r => IsList(r)));
    }

    [Fact]
    public async Task AStalledApiServerIsRelistedAfterAFewSilentWatches()
    {
        _api.Create(Slice("iam4kube-a", [Endpoint("10.0.0.1")]));
        await StartAsync(new WatchSettings { IdleTimeout = TimeSpan.FromSeconds(1), InitialBackoff = TimeSpan.FromMilliseconds(50) });
        Assert.Equal(["10.0.0.1:8080"], Ready(await NextAsync()));

        _api.StallWatches = true;
        _api.Create(Slice("iam4kube-b", [Endpoint("10.0.0.2")]));

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Ready(await NextAsync()));
        Assert.True(_metrics.WatchRestarts.WithLabels("no_progress").Value >= 1);
    }

    /// <summary>The first relist at once, then 800 ms doubling to 30 s as in production, on a clock ten times faster: at most 7 lists in the first
    /// 6 s of the fault (the window is the measurement, not a wait for a condition).</summary>
    [Theory]
    [InlineData(ApiFault.Expired)]
    [InlineData(ApiFault.ResourceVersionTooLarge)]
    [InlineData(ApiFault.InvalidResourceVersion)]
    public async Task APersistentWatchFaultLeadsToSpacedRelists(ApiFault fault)
    {
        _api.Create(Slice("iam4kube-a", [Endpoint("10.0.0.1")]));
        await StartAsync(new WatchSettings
        {
            InitialBackoff = TimeSpan.FromMilliseconds(80),
            MaxBackoff = TimeSpan.FromSeconds(3),
            OutageRetry = TimeSpan.FromMilliseconds(100),
        });
        Assert.Equal(["10.0.0.1:8080"], Ready(await NextAsync()));
        await _api.WaitForWatchAsync("endpointslices");

        _api.WatchFault = fault;
        _api.DropWatches();
        await Task.Delay(TimeSpan.FromSeconds(6));

        Assert.InRange(_api.Requests.Count(r => IsList(r)) - 1, 2, 7);
    }

    private static bool IsList(RecordedRequest request) =>
        request.Path.EndsWith("/endpointslices", StringComparison.Ordinal) && !request.IsWatch;

    private static List<string> Ready(DesiredState state) => [.. state.Rules[0].Set.Ready.Select(e => e.ToString())];

    private async Task StartAsync(WatchSettings? settings = null)
    {
        _watcher = new EndpointSliceWatcher(
            Connect(),
            new ServiceReference(Namespace, Service, "http"),
            [new InterceptRoute(InterceptTarget.Default, "http")],
            ImmutableArray<IPAddress>.Empty,
            _states.Writer,
            _metrics,
            TimeProvider.System,
            NullLogger<EndpointSliceWatcher>.Instance,
            settings);
        await _watcher.StartAsync(CancellationToken.None);
    }

    /// <summary>The next published state (the watcher publishes one per list and per change).</summary>
    private async Task<DesiredState> NextAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await _states.Reader.ReadAsync(cts.Token);
    }

    // ip2service's own connection (as RunCommand makes it from the kubeconfig), not a k8s.Kubernetes.
    private KubernetesApi Connect() =>
        _connection = KubernetesApi.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(_api.KubeconfigPath));
}
