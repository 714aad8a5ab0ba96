using System.Net;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;

namespace Iam4Kube.Benchmarks;

/// <summary>
/// The fake Kubernetes API server and the fake STS (in this process) and a real iam4kube process pointed at them.
/// iam4kube runs as a child process (the built iam4kube.dll) so that its throughput, CPU and RSS are its own.
/// </summary>
internal sealed class Iam4KubeUnderTest : IAsyncDisposable
{
    private Iam4KubeUnderTest(FakeKubernetesApiServer api, FakeSts sts)
    {
        Api = api;
        Sts = sts;
    }

    public FakeKubernetesApiServer Api { get; }

    public FakeSts Sts { get; }

    public BackgroundProcess? Process { get; private set; }

    public IPEndPoint Metadata { get; private set; } = null!;

    public Uri MetadataUri => new($"http://{Metadata}");

    public Uri AdminUri { get; private set; } = null!;

    /// <param name="stsTls">Serve the fake STS over HTTPS with a certificate this authority signed (give iam4kube its CA file).</param>
    public static async Task<Iam4KubeUnderTest> CreateAsync(TestCertificateAuthority? stsTls = null)
    {
        var api = new FakeKubernetesApiServer(historyCapacity: 100_000);
        await api.StartAsync();
        return new Iam4KubeUnderTest(api, FakeSts.Start(tls: stsTls));
    }

    /// <summary>
    /// Starts iam4kube, with <paramref name="extraArgs"/> (the token door's flags, for instance); returns the time
    /// from process start to the first 200 from /readyz (asked every 20 ms).
    /// </summary>
    public async Task<TimeSpan> StartAsync(string iam4kubeDll, double stsRate = 100_000, int stsBurst = 100_000, string waitTimeout = "30s",
        IReadOnlyDictionary<string, string?>? environment = null, IReadOnlyList<string>? extraArgs = null)
    {
        var started = Launch(iam4kubeDll, stsRate, stsBurst, waitTimeout, environment, extraArgs);
        await WaitUntilReadyAsync(TimeSpan.FromMinutes(5));
        return started.Elapsed;
    }

    /// <summary>Asks the launched iam4kube's /readyz every 20 ms until it answers 200, at most <paramref name="timeout"/>.</summary>
    public Task WaitUntilReadyAsync(TimeSpan timeout) =>
        ReadinessProbe.WaitUntilReadyAsync(Process!, new Uri(AdminUri, "/readyz"), timeout, pollEvery: TimeSpan.FromMilliseconds(20));

    /// <summary>
    /// Starts iam4kube without waiting for anything; the returned stopwatch started just before the process did.
    /// <paramref name="iam4kube"/> is either a built iam4kube.dll (run by the dotnet host) or a published apphost
    /// (build/publish.sh's OUT/iam4kube/iam4kube, run directly, as the container image runs it).
    /// </summary>
    public System.Diagnostics.Stopwatch Launch(string iam4kube, double stsRate = 100_000, int stsBurst = 100_000, string waitTimeout = "30s",
        IReadOnlyDictionary<string, string?>? environment = null, IReadOnlyList<string>? extraArgs = null)
    {
        Metadata = new IPEndPoint(IPAddress.Loopback, FreePorts.Pick(IPAddress.Loopback));
        var adminPort = FreePorts.Pick(IPAddress.Loopback);
        AdminUri = new Uri($"http://127.0.0.1:{adminPort}");
        var dll = iam4kube.EndsWith(".dll", StringComparison.Ordinal);
        string[] args =
        [
            "--kubeconfig", Api.KubeconfigPath, "--sts-endpoint", Sts.Url, "--region", "eu-west-1",
            "--listen", Metadata.ToString(), "--admin-listen", $"127.0.0.1:{adminPort}",
            "--sts-rate", stsRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--sts-burst", stsBurst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--wait-timeout", waitTimeout, "--max-parked", "100000", "--log-level", "warn", "--shutdown-delay", "0",
            .. extraArgs ?? [],
        ];
        var started = System.Diagnostics.Stopwatch.StartNew();
        Process = ProcessRunner.Start(dll ? ProcessRunner.DotnetHost : iam4kube, dll ? [iam4kube, .. args] : args,
            new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>())
            {
                ["AWS_ACCESS_KEY_ID"] = "AKIAIAM4KUBEBENCH000",
                ["AWS_SECRET_ACCESS_KEY"] = "iam4kube-bench-fake-secret",
                ["AWS_EC2_METADATA_DISABLED"] = "true",
            });
        return started;
    }

    /// <summary>Stops iam4kube (SIGTERM, then SIGKILL) so that another can start against the same fakes.</summary>
    public async Task StopAsync()
    {
        if (Process is { } process)
        {
            Process = null;
            await process.DisposeAsync();
        }
    }

    /// <summary>iam4kube's resident set size from /proc/PID/status (VmRSS), in MiB: the process's honest memory.</summary>
    public double RssMiB() => Memory().RssMiB;

    /// <summary>
    /// VmRSS and its split from /proc/PID/status: RssAnon (heaps, stacks: the process's own memory), RssFile (pages
    /// of mapped files: the runtime's and the assemblies' code and data, shared with any other process mapping the
    /// same files and droppable under memory pressure) and RssShmem (shared memory: the runtime's double mapping of
    /// the code it generates, W^X, lives there).
    /// </summary>
    public ProcessMemory Memory()
    {
        var status = ProcessFigures.StatusKiB((Process ?? throw new InvalidOperationException("iam4kube is not started")).Id);
        double MiB(string counter) => status.TryGetValue(counter, out var kib) ? kib / 1024.0 : double.NaN;
        return new ProcessMemory(MiB("VmRSS"), MiB("RssAnon"), MiB("RssFile"), MiB("RssShmem"), MiB("VmHWM"));
    }

    /// <summary>iam4kube's CPU time so far (user + system, from /proc/PID/stat): what load on the machine does not inflate.</summary>
    public TimeSpan CpuTime() => ProcessFigures.CpuTime((Process ?? throw new InvalidOperationException("iam4kube is not started")).Id);

    public HttpClient AdminClient() => new() { BaseAddress = AdminUri, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
        }

        Sts.Dispose();
        await Api.DisposeAsync();
    }
}

/// <summary>
/// Resident memory in MiB: the whole, anonymous (the process's own), file-backed (mapped code and data) and shared
/// memory (W^X code); and the peak (VmHWM), the most the process has held so far, what a container memory limit must
/// cover (NaN in a median of several processes).
/// </summary>
internal sealed record ProcessMemory(double RssMiB, double AnonMiB, double FileMiB, double ShmemMiB, double PeakMiB = double.NaN);
