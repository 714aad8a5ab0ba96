using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;
using Xunit.Abstractions;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// Connection floods against the built binary (local mode, offline credentials): refused beyond the global, the
/// per-source and the open-file limit, while the process stays up, its admin door answers, its memory stays
/// bounded, and it serves its pods again once the flood ends. Every flood connection sends a request that parks
/// (no pod owns its source IP), the most a connection can cost.
/// </summary>
[Collection(EndToEnd.EndToEndGroup.Name)]
public sealed class ConnectionFloodTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string PodIp = "127.0.61.1";
    private const string CredentialsPath = "/latest/meta-data/iam/security-credentials/";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("iam4kube-flood-").FullName;
    private readonly List<Socket> _flood = [];
    private BackgroundProcess? _process;
    private Uri _metadata = null!;
    private HttpClient _admin = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        CloseFlood();
        _admin?.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
            output.WriteLine(_process.Output);
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AFloodBeyondTheOpenFileLimitIsRefusedInsteadOfAbortingTheProcess()
    {
        // Before the descriptor bound, this flood made the runtime abort with "Out of memory." (SIGABRT): accept()
        // failed with EMFILE, and so did the pipe a new thread-pool thread needs.
        await StartAsync(openFiles: 1024, "--max-connections-per-source", "100000");
        var limit = await MetricAsync("iam4kube_connection_limit{limit=\"pod-facing\"}");
        Assert.InRange(limit, 1, 1024 - 256 - 64 - 1);
        Assert.Contains(_process!.Lines, l => l.Contains("the open-file limit (ulimit -n) leaves room for no more", StringComparison.Ordinal));
        var rssBefore = Rss();

        await FloodAsync(3_000, sources: 30);
        await Eventually.TrueAsync(async () => await RefusedAsync("max_connections") >= 3_000 - limit, Bound, "the flood was not refused");

        Assert.False(_process.HasExited, _process.Output);
        Assert.Equal(limit, await MetricAsync("iam4kube_open_connections{door=\"metadata\"}"));
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/healthz")).StatusCode);
        var grown = Rss() - rssBefore;
        output.WriteLine($"limit {limit}: RSS grew {grown / 1024.0 / 1024:F1} MiB for {limit} parked connections and {3_000 - limit} refused");
        Assert.True(grown < 64L << 20, $"RSS grew {grown >> 20} MiB for {limit} connections");

        CloseFlood();
        await AssertServesThePodAsync();
        Assert.DoesNotContain("Out of memory", _process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionsBeyondMaxConnectionsAreClosedAtOnceWhileTheAdminDoorStillAnswers()
    {
        await StartAsync(openFiles: null, "--max-connections", "20");
        await FloodAsync(60, sources: 60);
        await Eventually.TrueAsync(async () => await RefusedAsync("max_connections") == 40, Bound, "40 connections beyond the 20 allowed were not refused");

        Assert.Equal(20, await MetricAsync("iam4kube_open_connections{door=\"metadata\"}"));
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/healthz")).StatusCode);
        // A refused connection is closed before anything is read: the client sees the connection end, no answer.
        using (var late = await ConnectAsync(IPAddress.Parse("127.0.63.1")))
        {
            Assert.Equal(0, await ReadUntilClosedAsync(late));
        }

        CloseFlood();
        await AssertServesThePodAsync();
    }

    [Fact]
    public async Task OneSourceGetsAtMostMaxConnectionsPerSourceAndOtherPodsAreStillServed()
    {
        await StartAsync(openFiles: null, "--max-connections-per-source", "10");
        await FloodAsync(30, sources: 1);
        await Eventually.TrueAsync(async () => await RefusedAsync("max_connections_per_source") == 20, Bound, "20 connections beyond the 10 allowed per source were not refused");

        // The flooding source holds its 10 (counted before the pod's own keep-alive connection adds one); every other
        // pod still gets through.
        Assert.Equal(10, await MetricAsync("iam4kube_open_connections{door=\"metadata\"}"));
        await AssertServesThePodAsync();
        // One warning for the burst, not one per refused connection.
        var warnings = _process!.Lines.Count(l => l.Contains("connections on the metadata door", StringComparison.Ordinal));
        Assert.Equal(1, warnings);
    }

    [Fact]
    public async Task AnIdleKeepAliveConnectionIsClosedAfterTenSeconds()
    {
        await StartAsync(openFiles: null);
        using var socket = await ConnectAsync(IPAddress.Parse(PodIp));
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {CredentialsPath} HTTP/1.1\r\nHost: x\r\n\r\n"));
        var answered = Stopwatch.StartNew();
        var received = await ReadUntilClosedAsync(socket);

        Assert.True(received > 0, "no answer before the connection closed");
        output.WriteLine($"closed {answered.Elapsed} after the answer");
        Assert.InRange(answered.Elapsed, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(25));
    }

    private async Task StartAsync(int? openFiles, params string[] extra)
    {
        var file = Path.Combine(_directory, "cluster.yaml");
        await File.WriteAllTextAsync(file, $$"""
            apiVersion: v1
            kind: Node
            metadata: {name: node-1}
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: app
              namespace: a
              annotations: {iam.amazonaws.com/roleArn: "arn:aws:iam::111122223333:role/app-role"}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: app-1, namespace: a}
            spec: {serviceAccountName: app, nodeName: node-1}
            status: {podIP: {{PodIp}}, phase: Running}
            """);
        var (listen, admin) = (FreePorts.Pick(IPAddress.Loopback), FreePorts.Pick(IPAddress.Loopback));
        string[] iam4kube =
        [
            ProcessRunner.DotnetHost, Iam4KubeProgram.Dll,
            "--cluster-file", file, "--credentials", "offline",
            "--listen", $"127.0.0.1:{listen}", "--admin-listen", $"127.0.0.1:{admin}",
            "--wait-timeout", "2m", "--log-format", "text",
            .. extra,
        ];
        _process = openFiles is { } limit
            ? ProcessRunner.Start("prlimit", [$"--nofile={limit}:{limit}", .. iam4kube], Iam4KubeProgram.Environment(_directory))
            : ProcessRunner.Start(iam4kube[0], iam4kube[1..], Iam4KubeProgram.Environment(_directory));
        _metadata = new Uri($"http://127.0.0.1:{listen}");
        _admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await _admin.GetAsync("/readyz")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, Bound, "iam4kube never became ready");
    }

    /// <summary>Opens <paramref name="count"/> connections from <paramref name="sources"/> source IPs no pod owns,
    /// each with a request that parks.</summary>
    private async Task FloodAsync(int count, int sources)
    {
        var request = Encoding.ASCII.GetBytes($"GET {CredentialsPath} HTTP/1.1\r\nHost: x\r\n\r\n");
        for (var i = 0; i < count; i++)
        {
            var socket = await ConnectAsync(IPAddress.Parse($"127.0.62.{1 + (i % sources)}"));
            _flood.Add(socket);
            try
            {
                await socket.SendAsync(request);
            }
            catch (SocketException)
            {
                // Refused and reset before the request went out: that is what a refusal may look like.
            }
        }
    }

    private async Task<Socket> ConnectAsync(IPAddress source)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _metadata.Port), timeout.Token);
        return socket;
    }

    /// <summary>Reads until the server closes the connection (or resets it); returns the bytes received.</summary>
    private static async Task<int> ReadUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                total += read;
            }
        }
        catch (SocketException)
        {
            // reset: closed too
        }

        return total;
    }

    private void CloseFlood()
    {
        _flood.ForEach(s => s.Dispose());
        _flood.Clear();
    }

    private async Task AssertServesThePodAsync()
    {
        using var pod = SourceBoundClient.Create(IPAddress.Parse(PodIp), _metadata, TimeSpan.FromSeconds(10));
        var answer = await Eventually.ObserveAsync(async () =>
        {
            try
            {
                using var response = await pod.GetAsync(CredentialsPath);
                return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                return e.Message; // the flood's connections may still be closing
            }
        }, a => a == "app-role", Bound);
        Assert.Equal("app-role", answer);
    }

    private Task<double> RefusedAsync(string reason) => MetricAsync($"iam4kube_connections_refused_total{{door=\"metadata\",reason=\"{reason}\"}}");

    private async Task<double> MetricAsync(string series)
    {
        var text = await _admin.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>Resident memory of iam4kube (under prlimit it is prlimit's child: prlimit execs, same pid).</summary>
    private long Rss() => ProcessFigures.StatusKiB(_process!.Id)["VmRSS"] * 1024;
}
