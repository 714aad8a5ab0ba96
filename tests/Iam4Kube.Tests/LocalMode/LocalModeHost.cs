using System.Net;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Iam4Kube.Tests.LocalMode;

/// <summary>
/// The real iam4kube host in local mode (<c>--cluster-file</c> in a temporary folder, offline credentials) on
/// Kestrel with ports picked by the OS. Requests come from 127.0.0.1, the IP the test files give their pod.
/// </summary>
internal sealed class LocalModeHost : IAsyncDisposable
{
    public const string RolePrefix = "arn:aws:iam::111122223333:role/";

    private readonly CapturedLog _log;
    private readonly WebApplication _app;

    private LocalModeHost(string directory, string file, WebApplication app, CapturedLog log)
    {
        Directory = directory;
        ClusterFile = file;
        _app = app;
        _log = log;
        Metadata = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Service<Listeners>().MetadataEndpoint.Port}"), Timeout = TimeSpan.FromSeconds(30) };
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Service<Listeners>().AdminEndpoint.Port}") };
    }

    public string Directory { get; }

    public string ClusterFile { get; }

    public HttpClient Metadata { get; }

    public HttpClient Admin { get; }

    /// <summary>Everything iam4kube logged so far, rendered, one line per event.</summary>
    public string LogText => _log.Text;

    /// <summary>Writes <paramref name="yaml"/> as the cluster file, starts iam4kube on it, and (unless told not to) waits until it is ready.</summary>
    public static Task<LocalModeHost> StartAsync(string yaml, bool waitUntilReady = true) =>
        StartAsync(directory =>
        {
            var file = Path.Combine(directory, "cluster.yaml");
            File.WriteAllText(file, yaml);
            return file;
        }, waitUntilReady);

    /// <summary>Lets <paramref name="layOut"/> create the files in a temporary folder (symbolic links, a ConfigMap's
    /// layout) and return the path to give as <c>--cluster-file</c>; then starts iam4kube on it.</summary>
    public static async Task<LocalModeHost> StartAsync(Func<string, string> layOut, bool waitUntilReady = true)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("iam4kube-local-").FullName;
        var file = layOut(directory);
        var options = new Iam4KubeOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            AdminListen = new IPEndPoint(IPAddress.Loopback, 0),
            ClusterFile = file,
            Credentials = CredentialSource.Offline,
            // A pod that left the file is answered 404 once this wait is over.
            WaitTimeout = TimeSpan.FromMilliseconds(500),
            ShutdownDelay = TimeSpan.Zero,
            DrainTimeout = TimeSpan.FromSeconds(2),
        };
        var log = new CapturedLog();
        var app = Iam4KubeApplication.Build(options, new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(log).CreateLogger());
        await app.StartAsync();
        var host = new LocalModeHost(directory, file, app, log);
        if (waitUntilReady)
        {
            await host.WaitUntilAsync(async () => (await host.Admin.GetAsync("/readyz")).IsSuccessStatusCode, "iam4kube never became ready");
        }

        return host;
    }

    public T Service<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    public Iam4KubeMetrics Metrics => Service<Iam4KubeMetrics>();

    /// <summary>The role name the metadata API gives 127.0.0.1 now, or the HTTP status when it gives none.</summary>
    public async Task<string> RoleAsync()
    {
        using var response = await Metadata.GetAsync("/latest/meta-data/iam/security-credentials/");
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : $"HTTP {(int)response.StatusCode}";
    }

    /// <summary>Test-side: re-checks a condition observed from outside (the file watcher is real, so is its timing).</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, string failure, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{failure}. iam4kube logged:\n{LogText}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    public Task WaitForRoleAsync(string expected, string because) =>
        WaitUntilAsync(async () => await RoleAsync() == expected, $"the metadata API never answered '{expected}' {because}");

    public async ValueTask DisposeAsync()
    {
        Metadata.Dispose();
        Admin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>A Serilog sink keeping messages as <c>--log-format text</c> renders them for a person.</summary>
    private sealed class CapturedLog : Serilog.Core.ILogEventSink
    {
        private readonly Lock _gate = new();
        private readonly MessageTemplateTextFormatter _format = new("{Level:u3} {Message:lj}");
        private readonly List<string> _lines = [];

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    return string.Join('\n', _lines);
                }
            }
        }

        public void Emit(LogEvent logEvent)
        {
            lock (_gate)
            {
                using var line = new StringWriter();
                _format.Format(logEvent, line);
                _lines.Add(line.ToString());
            }
        }
    }
}
