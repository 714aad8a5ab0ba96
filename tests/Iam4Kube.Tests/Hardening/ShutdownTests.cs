using System.Diagnostics;
using System.Net;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Testing;
using Xunit.Abstractions;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// SIGTERM to the real binary (as the kubelet sends it) while requests are parked and in flight: readiness goes false
/// first, it keeps serving through the shutdown delay, in-flight requests are answered, and it exits 0 in time.
/// </summary>
public sealed class ShutdownTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ShutdownDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);
    private readonly FakeKubernetesApiServer _api = new();
    private FakeSts _sts = null!;
    private BackgroundProcess? _process;

    public async Task InitializeAsync()
    {
        await _api.StartAsync();
        _sts = FakeSts.Start();
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            output.WriteLine(_process.Output);
        }

        _sts.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task SigtermTurnsUnreadyFirstAnswersParkedAndInFlightRequestsAndExitsZeroInTime()
    {
        _api.Create(KubeObjects.Node("node-1"));
        _api.Create(KubeObjects.ServiceAccount("a", "app", KubeObjects.RoleArn("app-role")));
        _api.Create(KubeObjects.Pod("a", "app-1", "127.0.47.1", "app"));
        var (listen, admin) = (FreePorts.Pick(IPAddress.Loopback), FreePorts.Pick(IPAddress.Loopback));
        StartIam4Kube(listen, admin, "--wait-timeout", "30s");

        using var adminClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.TrueAsync(async () => await ReadyAsync(adminClient) == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "iam4kube never became ready");
        var metadata = new Uri($"http://127.0.0.1:{listen}");
        using var pod = SourceBoundClient.Create(IPAddress.Parse("127.0.47.1"), metadata);
        Assert.Equal(HttpStatusCode.OK, (await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role")).StatusCode);

        // Parked: a pod that does not exist yet, and one that never will.
        using var newcomer = SourceBoundClient.Create(IPAddress.Parse("127.0.47.2"), metadata);
        var parkedThenServed = newcomer.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        using var stranger = SourceBoundClient.Create(IPAddress.Parse("127.0.47.3"), metadata);
        var parkedForever = stranger.GetAsync("/latest/meta-data/iam/security-credentials/");
        await Task.Delay(300);
        Assert.False(parkedThenServed.IsCompleted || parkedForever.IsCompleted);

        var terminated = Stopwatch.StartNew();
        await SignalAsync("TERM");
        await Eventually.TrueAsync(async () => await ReadyAsync(adminClient) == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(3), "/readyz did not turn 503 after SIGTERM");
        Assert.False(_process!.HasExited);

        // Still serving during the shutdown delay: the new pod appears and its parked request is answered.
        _api.Create(KubeObjects.Pod("a", "app-2", "127.0.47.2", "app"));
        Assert.Equal(HttpStatusCode.OK, (await parkedThenServed).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role")).StatusCode);

        // The request parked for an IP no pod owns yet is answered when draining starts (503: retry on another
        // replica), not cut off when the drain timeout ends.
        var last = await parkedForever;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, last.StatusCode);
        Assert.Equal("1", last.Headers.GetValues("Retry-After").Single());
        // Answered when the drain starts (after the shutdown delay), well before the drain timeout would cut it off.
        Assert.True(terminated.Elapsed < ShutdownDelay + DrainTimeout - TimeSpan.FromSeconds(1.5), $"the parked request was answered only {terminated.Elapsed} after SIGTERM");

        var exitCode = await _process.WaitForExitAsync(ShutdownDelay + DrainTimeout + TimeSpan.FromSeconds(4));
        output.WriteLine($"exited {exitCode} after {terminated.Elapsed}");
        Assert.Equal(0, exitCode);
        Assert.True(terminated.Elapsed < ShutdownDelay + DrainTimeout + TimeSpan.FromSeconds(3), $"exited {terminated.Elapsed} after SIGTERM");
    }

    [Fact]
    public async Task ASecondSigtermCutsTheShutdownDelayShort()
    {
        var (listen, admin) = (FreePorts.Pick(IPAddress.Loopback), FreePorts.Pick(IPAddress.Loopback));
        var longDelay = TimeSpan.FromSeconds(60);
        _api.Create(KubeObjects.Node("node-1"));
        StartIam4Kube(listen, admin, "--shutdown-delay", "60s");
        using var adminClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.TrueAsync(async () => await ReadyAsync(adminClient) == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "iam4kube never became ready");

        var terminated = Stopwatch.StartNew();
        await SignalAsync("TERM");
        await Eventually.TrueAsync(async () => await ReadyAsync(adminClient) == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(3), "/readyz did not turn 503 after SIGTERM");
        await SignalAsync("TERM");

        Assert.Equal(0, await _process!.WaitForExitAsync(DrainTimeout + TimeSpan.FromSeconds(10)));
        Assert.True(terminated.Elapsed < longDelay / 2, $"exited {terminated.Elapsed} after the first SIGTERM");
    }

    private void StartIam4Kube(int listen, int admin, params string[] extra) =>
        _process = ProcessRunner.Start(
            ProcessRunner.DotnetHost,
            [
                Iam4KubeProgram.Dll,
                "--listen", $"127.0.0.1:{listen}", "--admin-listen", $"127.0.0.1:{admin}",
                "--kubeconfig", _api.KubeconfigPath, "--sts-endpoint", _sts.Url, "--region", "eu-west-1",
                "--shutdown-delay", "1s", "--drain-timeout", "5s", "--log-format", "text",
                .. extra,
            ],
            new Dictionary<string, string?>
            {
                ["AWS_ACCESS_KEY_ID"] = "AKIAIAM4KUBETESTING0",
                ["AWS_SECRET_ACCESS_KEY"] = "iam4kube-own-secret-key-for-tests-only",
                ["AWS_EC2_METADATA_DISABLED"] = "true",
            });

    /// <summary>Process.Kill is SIGKILL; the kubelet sends SIGTERM.</summary>
    private Task<ProcessResult> SignalAsync(string signal) =>
        ProcessRunner.RunCheckedAsync("kill", [$"-{signal}", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    private static async Task<HttpStatusCode?> ReadyAsync(HttpClient admin)
    {
        try
        {
            return (await admin.GetAsync("/readyz")).StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
