using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;

namespace Iam4Kube.Credentials;

/// <summary>
/// STS's clock, read from the <c>Date</c> header of its answers, which the SDK does not hand back with the response.
/// The STS client's HTTP client comes from <see cref="Factory"/>, whose handler writes each answer's Date into the
/// capture of the call that is awaiting it (an <see cref="AsyncLocal{T}"/> flows into the handler), so concurrent
/// AssumeRole calls each see their own answer's Date.
/// </summary>
internal static class StsResponseDate
{
    private static readonly AsyncLocal<Capture?> Current = new();

    /// <summary>Starts capturing the Date of the answers to calls made from here; dispose when the call returned.</summary>
    public static Capture Begin()
    {
        var capture = new Capture(Current.Value);
        Current.Value = capture;
        return capture;
    }

    /// <summary>The Date (STS's clock) of the latest answer, if any.</summary>
    internal sealed class Capture(Capture? previous) : IDisposable
    {
        public DateTimeOffset? Date { get; set; }

        public void Dispose() => Current.Value = previous;
    }

    /// <summary>
    /// Gives the SDK one HTTP client, the same for every call of the STS client it is configured on, which records
    /// each answer's Date and has the config's timeout and proxy. One client means one connection pool: calls reuse
    /// kept-alive connections (one TLS handshake for many calls, as STS keeps connections alive), and at most
    /// <see cref="IClientConfig.MaxConnectionsPerServer"/> connections are open at once, so thousands of first fetches
    /// queue for a connection instead of each holding its own TLS session and buffers.
    /// </summary>
    internal sealed class Factory(X509Certificate2Collection? trustedRoots = null) : HttpClientFactory
    {
        private readonly Lock _gate = new();
        private HttpClient? _client;

        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            lock (_gate)
            {
                return _client ??= Create(clientConfig);
            }
        }

        // The SDK would otherwise keep a cache of clients of its own (several per config, each its own pool), or, when
        // not caching, dispose of the client after every call: neither, the one client above is reused.
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

        private HttpClient Create(IClientConfig clientConfig)
        {
            var handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                // Connections are reused while they stay up, but none for longer than this, so that a change of the
                // addresses behind STS's name (DNS) is followed.
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            };
            if (clientConfig.GetWebProxy() is { } proxy)
            {
                handler.Proxy = proxy;
                handler.UseProxy = true;
            }

            if (clientConfig.MaxConnectionsPerServer is { } connections)
            {
                handler.MaxConnectionsPerServer = connections;
            }

            if (trustedRoots is not null)
            {
                // Tests: a private CA as the only root, verified as strictly as the system roots would be.
                handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    DisableCertificateDownloads = true,
                    RevocationMode = X509RevocationMode.NoCheck,
                };
                handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(trustedRoots);
            }

            return new HttpClient(new Recorder(handler)) { Timeout = clientConfig.Timeout ?? TimeSpan.FromSeconds(100) };
        }
    }

    private sealed class Recorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (Current.Value is { } capture)
            {
                capture.Date = response.Headers.Date;
            }

            return response;
        }
    }
}
