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
        Metadata = new IPEndPoint(IPAddress.Loopback, FreePorts.Pick(IPAddress.Loopback));
        var adminPort = FreePorts.Pick(IPAddress.Loopback);
        AdminUri = new Uri($"http://127.0.0.1:{adminPort}");
        var started = System.Diagnostics.Stopwatch.StartNew();
        Process = ProcessRunner.Start(ProcessRunner.DotnetHost,
        [
            iam4kubeDll,
            "--kubeconfig", Api.KubeconfigPath, "--sts-endpoint", Sts.Url, "--region", "eu-west-1",
            "--listen", Metadata.ToString(), "--admin-listen", $"127.0.0.1:{adminPort}",
            "--sts-rate", stsRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--sts-burst", stsBurst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--wait-timeout", waitTimeout, "--max-parked", "100000", "--log-level", "warn", "--shutdown-delay", "0",
            .. extraArgs ?? [],
        ], new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>())
        {
            ["AWS_ACCESS_KEY_ID"] = "AKIAIAM4KUBEBENCH000",
            ["AWS_SECRET_ACCESS_KEY"] = "iam4kube-bench-fake-secret",
            ["AWS_EC2_METADATA_DISABLED"] = "true",
        });
        await ReadinessProbe.WaitUntilReadyAsync(
            Process, new Uri(AdminUri, "/readyz"), TimeSpan.FromMinutes(5), pollEvery: TimeSpan.FromMilliseconds(20));
        return started.Elapsed;
    }

    /// <summary>iam4kube's resident set size from /proc/PID/status (VmRSS), in MiB: the process's honest memory.</summary>
    public double RssMiB()
    {
        var pid = (Process ?? throw new InvalidOperationException("iam4kube is not started")).Id;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return double.NaN;
    }

    /// <summary>iam4kube's CPU time so far (user + system, from /proc/PID/stat), in clock ticks of 1/100 s.</summary>
    public long CpuTicks()
    {
        var pid = (Process ?? throw new InvalidOperationException("iam4kube is not started")).Id;
        // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th, stime the 15th.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

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
