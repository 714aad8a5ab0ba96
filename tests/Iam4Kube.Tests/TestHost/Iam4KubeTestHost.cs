using System.Net;
using Amazon.Runtime;
using Iam4Kube.Hosting;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Testing;
using Serilog;
using Serilog.Formatting.Compact;
using Iam4Kube.Testing.Networking;

namespace Iam4Kube.Tests.TestHost;

/// <summary>
/// The real iam4kube host on Kestrel (ports picked by the OS), against the fake Kubernetes API server and STS on
/// WireMock. Requests can come from any 127.0.0.x source address, so each simulated pod has its own IP.
/// </summary>
internal sealed class Iam4KubeTestHost : IAsyncDisposable
{
    /// <summary>The access key id of iam4kube's own AWS credentials in tests.</summary>
    public const string OwnAccessKeyId = "AKIAIAM4KUBETESTING0";

    private readonly CapturedLog _log = new();
    private int _compactions;

    private Iam4KubeTestHost(FakeKubernetesApiServer api, FakeSts sts)
    {
        Api = api;
        Sts = sts;
    }

    public FakeKubernetesApiServer Api { get; }

    public FakeSts Sts { get; }

    public WebApplication App { get; private set; } = null!;

    public Iam4KubeOptions Options { get; private set; } = null!;

    public IPEndPoint MetadataEndpoint => App.Services.GetRequiredService<Listeners>().MetadataEndpoint;

    public IPEndPoint AdminEndpoint => App.Services.GetRequiredService<Listeners>().AdminEndpoint;

    /// <summary>The token door's listener (with <c>TokenListen</c> set).</summary>
    public IPEndPoint TokenEndpoint => App.Services.GetRequiredService<Listeners>().EndpointOf(Doors.Token);

    /// <summary>The admission webhooks' HTTPS listener (with <c>WebhookListen</c> set).</summary>
    public IPEndPoint WebhookEndpoint => App.Services.GetRequiredService<Listeners>().EndpointOf(Doors.Webhook);

    /// <summary>
    /// A client of the webhooks that trusts only the CA in <paramref name="caBundle"/> (as kube-apiserver trusts the
    /// caBundle) and expects the Service's name in the certificate; it connects to 127.0.0.1.
    /// </summary>
    public HttpClient WebhookClient(string caBundle, string serviceName = "iam4kube.iam4kube.svc")
    {
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
                chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                var trusted = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
                trusted.ImportFromPem(caBundle);
                chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
                return certificate is not null && chain.Build(certificate) && certificate.MatchesHostname(serviceName);
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{WebhookEndpoint.Port}") };
    }

    /// <summary>
    /// Waits until a replica made the webhook's TLS Secret and serves its certificate, then returns a client that
    /// trusts only that Secret's CA, as kube-apiserver trusts the caBundle.
    /// </summary>
    public async Task<HttpClient> WebhookClientAsync()
    {
        var secret = await Api.WaitForAsync<k8s.Models.V1Secret>(s => s.Metadata.Name == global::Iam4Kube.Admission.WebhookTlsSettings.SecretName);
        await Eventually.TrueAsync(() => Task.FromResult(App.Services.GetRequiredService<global::Iam4Kube.Admission.WebhookCertificates>().Current is not null), TimeSpan.FromSeconds(10), "no serving certificate");
        return WebhookClient(System.Text.Encoding.ASCII.GetString(secret.Data["ca.crt"]));
    }

    /// <summary>A client of the token door, from <paramref name="sourceIp"/>; requests name the Host themselves.</summary>
    public HttpClient TokenClient(string sourceIp = "127.0.0.1", TimeSpan? timeout = null) =>
        SourceBoundClient.Create(IPAddress.Parse(sourceIp), new Uri($"http://127.0.0.1:{TokenEndpoint.Port}"), timeout);

    /// <summary>Everything iam4kube logged, as compact JSON lines.</summary>
    public string LogText => _log.Text;

    /// <summary>How often the app compacted its heap (FirstSyncCompaction): counted, not run, so tests do not pause each other.</summary>
    public int Compactions => Volatile.Read(ref _compactions);

    public static async Task<Iam4KubeTestHost> StartAsync(
        Func<Iam4KubeOptions, Iam4KubeOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        FakeKubernetesApiServer? api = null,
        bool startApp = true)
    {
        if (api is null)
        {
            api = new FakeKubernetesApiServer();
            await api.StartAsync();
        }

        var host = new Iam4KubeTestHost(api, FakeSts.Start());
        if (startApp)
        {
            await host.StartAppAsync(configure, services);
        }

        return host;
    }

    public async Task StartAppAsync(Func<Iam4KubeOptions, Iam4KubeOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var options = new Iam4KubeOptions
        {
            Listen = new IPEndPoint(IPAddress.Any, 0),
            AdminListen = new IPEndPoint(IPAddress.Loopback, 0),
            Kubeconfig = Api.KubeconfigPath,
            StsEndpoint = Sts.Url,
            Region = "eu-west-1",
            WaitTimeout = TimeSpan.FromSeconds(3),
            ShutdownDelay = TimeSpan.Zero,
            DrainTimeout = TimeSpan.FromSeconds(5),
            LogLevel = Serilog.Events.LogEventLevel.Debug,
        };
        Options = configure?.Invoke(options) ?? options;
        var logger = new LoggerConfiguration()
            .MinimumLevel.Is(Options.LogLevel)
            .WriteTo.Sink(_log)
            .CreateLogger();
        App = Iam4KubeApplication.Build(Options, logger, s =>
        {
            // iam4kube's own credentials (what the default chain would find on an STS node).
            s.AddSingleton<AWSCredentials>(new BasicAWSCredentials(OwnAccessKeyId, "iam4kube-own-secret-key-for-tests-only"));
            // The real compaction blocks every thread of the process, other tests' hosts included.
            s.AddSingleton<CompactHeap>(() => Interlocked.Increment(ref _compactions));
            services?.Invoke(s);
        });
        await App.StartAsync();
    }

    public T Service<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>An HTTP client whose connections come from <paramref name="sourceIp"/> (any 127.x.y.z works on Linux;
    /// an IPv6 source must be a local address, see <see cref="LocalIpv6Addresses"/>, and reaches iam4kube at [::1],
    /// so <c>Listen</c> must then be [::]).</summary>
    public HttpClient ClientFrom(string sourceIp, TimeSpan? timeout = null)
    {
        var source = IPAddress.Parse(sourceIp);
        var server = source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[::1]" : "127.0.0.1";
        return SourceBoundClient.Create(source, new Uri($"http://{server}:{MetadataEndpoint.Port}"), timeout);
    }

    public HttpClient AdminClient() => new() { BaseAddress = new Uri($"http://127.0.0.1:{AdminEndpoint.Port}") };

    /// <summary>Waits until /readyz says ready (test-side: re-checks on a short cadence).</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? timeout = null)
    {
        using var admin = AdminClient();
        await Eventually.TrueAsync(async () => (await admin.GetAsync("/readyz")).IsSuccessStatusCode, timeout ?? TimeSpan.FromSeconds(20), "iam4kube never became ready");
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        Sts.Dispose();
        await Api.DisposeAsync();
    }

    private sealed class CapturedLog : Serilog.Core.ILogEventSink
    {
        private readonly Lock _gate = new();
        private readonly StringWriter _writer = new();
        private readonly RenderedCompactJsonFormatter _formatter = new();

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    return _writer.ToString();
                }
            }
        }

        public void Emit(Serilog.Events.LogEvent logEvent)
        {
            lock (_gate)
            {
                _formatter.Format(logEvent, _writer);
            }
        }
    }
}
