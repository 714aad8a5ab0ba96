using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using k8s.Exceptions;

namespace Iam4Kube.Watching;

/// <summary>
/// Where and how to reach the API server: an <see cref="HttpClient"/> (TLS, client certificate), the base address
/// and the credentials, as a <see cref="Kubernetes"/> client holds them. ip2service builds one from the configuration
/// without a <see cref="Kubernetes"/>: that class's constructor reads <c>KubernetesClientConfiguration.JsonSerializerOptions</c>,
/// whose first read initialises <c>k8s.KubernetesJson</c>, and with it KubernetesClient's source-generated JSON of
/// every Kubernetes model (~700 types), compiled into a NativeAOT binary whether it runs or not (docs/benchmarks.md,
/// "Issue 15: ip2service footprint, part 2").
/// </summary>
internal sealed class KubernetesApi(HttpClient httpClient, Uri baseUri, ServiceClientCredentials? credentials, bool ownsHttpClient) : IDisposable
{
    public HttpClient HttpClient => httpClient;

    public Uri BaseUri => baseUri;

    public ServiceClientCredentials? Credentials => credentials;

    /// <summary>The connection of an existing client (not owned: disposing this leaves it open).</summary>
    public static KubernetesApi Of(Kubernetes kubernetes) => new(kubernetes.HttpClient, kubernetes.BaseUri, kubernetes.Credentials, ownsHttpClient: false);

    /// <summary>The connection <c>new Kubernetes(configuration)</c> would make (KubernetesClient 21's
    /// <c>Kubernetes.ConfigInit.cs</c>): the same handler settings, the same server certificate check (the
    /// configuration's CAs only, or none with insecure-skip-tls-verify), its client certificate, its credentials
    /// (token, token file re-read as it rotates, exec plugin, basic) and user agent.</summary>
    /// <exception cref="KubeConfigException">No host, or not a URL.</exception>
    public static KubernetesApi Create(KubernetesClientConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(configuration.Host))
        {
            throw new KubeConfigException("Host url must be set");
        }

        Uri baseUri;
        try
        {
            baseUri = new Uri(configuration.Host);
        }
        catch (UriFormatException e)
        {
            throw new KubeConfigException("Bad host url", e);
        }

        var handler = new SocketsHttpHandler
        {
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            EnableMultipleHttp2Connections = true,
        };
        handler.SslOptions.ClientCertificates = new X509Certificate2Collection();
        if (baseUri.Scheme == Uri.UriSchemeHttps)
        {
            if (configuration.SkipTlsVerify)
            {
                // Only when the kubeconfig says insecure-skip-tls-verify, as KubernetesClient does (docs/security.md).
#pragma warning disable CA5359
                handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
            }
            else if (configuration.SslCaCerts is { } authorities)
            {
                // The client's own check: the chain must end at one of these CAs, not at a system root.
                handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                    certificate is not null && chain is not null && Kubernetes.CertificateValidationCallBack(sender, authorities, certificate, chain, errors);
            }
        }

        if (ClientCertificate(configuration) is { } clientCertificate)
        {
            handler.SslOptions.ClientCertificates.Add(clientCertificate);
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }

        var httpClient = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrWhiteSpace(configuration.UserAgent))
        {
            httpClient.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", configuration.UserAgent);
        }

        return new KubernetesApi(httpClient, baseUri, Kubernetes.CreateCredentials(configuration), ownsHttpClient: true);
    }

    public void Dispose()
    {
        if (ownsHttpClient)
        {
            httpClient.Dispose();
        }
    }

    // KubernetesClient's CertUtils.GetClientCert (internal there): a PEM certificate and key, each inline (base64) or
    // from a file, both needed.
    private static X509Certificate2? ClientCertificate(KubernetesClientConfiguration configuration)
    {
        var certificate = Pem(configuration.ClientCertificateData, configuration.ClientCertificateFilePath);
        var key = Pem(configuration.ClientCertificateKeyData, configuration.ClientKeyFilePath);
        return certificate is null || key is null ? null : X509Certificate2.CreateFromPem(certificate, key);
    }

    private static string? Pem(string? data, string? path) =>
        !string.IsNullOrWhiteSpace(data) ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(data))
        : !string.IsNullOrWhiteSpace(path) ? File.ReadAllText(path)
        : null;
}
