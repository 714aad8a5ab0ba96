using System.Security.Cryptography.X509Certificates;
using System.Text;
using Iam4Kube.Admission;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Tests.TestSupport;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iam4Kube.Tests.Admission;

/// <summary>The webhook's TLS Secret and caBundle, kept against the fake API server through iam4kube's own connection.</summary>
public sealed class WebhookCertificatesTests : IAsyncLifetime
{
    private const string Namespace = "iam4kube";
    private const string ValidatingName = "iam4kube-validating";
    private readonly FakeKubernetesApiServer _api = new();
    private readonly FakeApiConnections _connections;

    public async Task InitializeAsync()
    {
        await _api.StartAsync();
        _api.Create(new V1MutatingWebhookConfiguration
        {
            ApiVersion = "admissionregistration.k8s.io/v1",
            Kind = "MutatingWebhookConfiguration",
            Metadata = new V1ObjectMeta { Name = "iam4kube" },
            Webhooks =
            [
                Webhook("pods.iam4kube.io"),
                Webhook("other.iam4kube.io"),
            ],
        });
        _api.Create(new V1ValidatingWebhookConfiguration
        {
            ApiVersion = "admissionregistration.k8s.io/v1",
            Kind = "ValidatingWebhookConfiguration",
            Metadata = new V1ObjectMeta { Name = ValidatingName },
            Webhooks =
            [
                ValidatingWebhook("serviceaccounts.iam4kube.io", "/validate/serviceaccounts"),
                ValidatingWebhook("pods.iam4kube.io", "/validate/pods"),
            ],
        });
    }

    public WebhookCertificatesTests() => _connections = new FakeApiConnections(_api);

    public async Task DisposeAsync()
    {
        _connections.Dispose();
        await _api.DisposeAsync();
    }

    private static V1MutatingWebhook Webhook(string name) => new()
    {
        Name = name,
        AdmissionReviewVersions = ["v1"],
        SideEffects = "None",
        ClientConfig = new Admissionregistrationv1WebhookClientConfig { Service = new Admissionregistrationv1ServiceReference { Name = "iam4kube", NamespaceProperty = Namespace, Path = "/mutate/pods" } },
    };

    private static V1ValidatingWebhook ValidatingWebhook(string name, string path) => new()
    {
        Name = name,
        AdmissionReviewVersions = ["v1"],
        SideEffects = "None",
        ClientConfig = new Admissionregistrationv1WebhookClientConfig { Service = new Admissionregistrationv1ServiceReference { Name = "iam4kube", NamespaceProperty = Namespace, Path = path } },
    };

    private WebhookCertificates Replica(string? validating = ValidatingName) =>
        new(_connections.Connect(), new WebhookTlsSettings(Namespace, "iam4kube", "iam4kube") { ValidatingConfigurationName = validating }, TimeProvider.System, NullLogger<WebhookCertificates>.Instance);

    private V1ValidatingWebhookConfiguration? Validating() => _api.Get<V1ValidatingWebhookConfiguration>(null, ValidatingName);

    /// <summary>The Secret as an earlier replica (or an earlier year) left it.</summary>
    private void Seed(WebhookTlsMaterial material) =>
        _api.Create(new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "kubernetes.io/tls",
            Metadata = new V1ObjectMeta { Name = WebhookTlsSettings.SecretName, NamespaceProperty = Namespace },
            Data = material.ToSecretData(),
        });

    private V1Secret Secret() => _api.Get<V1Secret>(Namespace, WebhookTlsSettings.SecretName)!;

    [Fact]
    public async Task CreatesTheSecretServesItsCertificateAndPutsItsCaInEveryWebhooksCaBundle()
    {
        using var replica = Replica();

        await replica.EnsureAsync(CancellationToken.None);

        var secret = Secret();
        Assert.Equal("kubernetes.io/tls", secret.Type);
        Assert.Equal(["ca.crt", "ca.key", "tls.crt", "tls.key"], secret.Data.Keys.Order());
        var ca = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(secret.Data["ca.crt"]));
        var serving = replica.Current!;
        Assert.True(serving.HasPrivateKey);
        Assert.True(serving.MatchesHostname("iam4kube.iam4kube.svc"));
        Assert.True(serving.MatchesHostname("iam4kube.iam4kube.svc.cluster.local"));
        Assert.Equal(ca.Subject, serving.Issuer);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        Assert.True(chain.Build(serving));
        var configuration = _api.Get<V1MutatingWebhookConfiguration>(null, "iam4kube")!;
        Assert.All(configuration.Webhooks, w => Assert.Equal(secret.Data["ca.crt"], w.ClientConfig.CaBundle));
    }

    [Fact]
    public async Task PutsTheCaInEveryWebhooksCaBundleOfTheValidatingConfigurationLeavingTheRestAsItWas()
    {
        using var replica = Replica();

        await replica.EnsureAsync(CancellationToken.None);

        var validating = Validating()!;
        Assert.Equal(["serviceaccounts.iam4kube.io", "pods.iam4kube.io"], validating.Webhooks.Select(w => w.Name));
        Assert.All(validating.Webhooks, w => Assert.Equal(Secret().Data["ca.crt"], w.ClientConfig.CaBundle));
        Assert.Equal(["/validate/serviceaccounts", "/validate/pods"], validating.Webhooks.Select(w => w.ClientConfig.Service.Path));
        Assert.Contains(_api.Requests, r => r.Method == "PATCH" && r.Path == $"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{ValidatingName}");
    }

    [Fact]
    public async Task AMissingValidatingConfigurationIsNoFailureTheCertificateIsServedAndTheMutatingOneKeptInStep()
    {
        _api.Delete<V1ValidatingWebhookConfiguration>(null, ValidatingName);
        using var replica = Replica();

        await replica.EnsureAsync(CancellationToken.None);

        Assert.NotNull(replica.Current);
        Assert.All(_api.Get<V1MutatingWebhookConfiguration>(null, "iam4kube")!.Webhooks, w => Assert.Equal(Secret().Data["ca.crt"], w.ClientConfig.CaBundle));
        Assert.Null(Validating());
    }

    [Fact]
    public async Task WithoutAValidatingConfigurationNameItIsNeverRead()
    {
        using var replica = Replica(validating: "");

        await replica.EnsureAsync(CancellationToken.None);

        Assert.DoesNotContain(_api.Requests, r => r.Path.Contains("validatingwebhookconfigurations", StringComparison.Ordinal));
        Assert.All(Validating()!.Webhooks, w => Assert.Null(w.ClientConfig.CaBundle));
    }

    [Fact]
    public async Task ReplicasStartingTogetherShareOneSecretAndOneCertificate()
    {
        using var first = Replica();
        using var second = Replica();
        using var third = Replica();

        await Task.WhenAll(first.EnsureAsync(CancellationToken.None), second.EnsureAsync(CancellationToken.None), third.EnsureAsync(CancellationToken.None));

        Assert.Equal(first.Current!.Thumbprint, second.Current!.Thumbprint);
        Assert.Equal(first.Current.Thumbprint, third.Current!.Thumbprint);
        Assert.Single(_api.List<V1Secret>(Namespace));
        Assert.Equal(Secret().Data["tls.crt"], Encoding.ASCII.GetBytes(first.Current.ExportCertificatePem()));
    }

    [Fact]
    public async Task RenewsAServingCertificateWithAThirdOfItsLifeLeftKeepingTheCa()
    {
        var old = WebhookTlsMaterial.Create("iam4kube", Namespace, DateTimeOffset.UtcNow.AddDays(-300), TimeSpan.FromDays(3650), TimeSpan.FromDays(365));
        Seed(old);
        using var replica = Replica();

        await replica.EnsureAsync(CancellationToken.None);

        var renewed = WebhookTlsMaterial.FromSecret(Secret().Data)!;
        Assert.NotEqual(old.Certificate, renewed.Certificate);
        Assert.Equal(old.CaCertificate, renewed.CaCertificate);
        Assert.True(replica.Current!.NotAfter > DateTime.UtcNow.AddDays(300));
        Assert.Equal(renewed.Certificate.Trim(), replica.Current.ExportCertificatePem().Trim());
    }

    [Fact]
    public async Task ReplacesAnExpiringCaKeepingTheOldOneInTheBundleAndSyncsTheCaBundle()
    {
        var old = WebhookTlsMaterial.Create("iam4kube", Namespace, DateTimeOffset.UtcNow.AddDays(-30), TimeSpan.FromDays(40), TimeSpan.FromDays(365));
        Seed(old);
        using var replica = Replica();

        await replica.EnsureAsync(CancellationToken.None);

        var renewed = WebhookTlsMaterial.FromSecret(Secret().Data)!;
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(renewed.CaCertificate);
        Assert.Equal(2, bundle.Count);
        Assert.Contains(old.CaCertificate.Trim(), renewed.CaCertificate, StringComparison.Ordinal);
        Assert.Equal(bundle[0].Subject, replica.Current!.Issuer);
        Assert.All(_api.Get<V1MutatingWebhookConfiguration>(null, "iam4kube")!.Webhooks, w => Assert.Equal(Encoding.ASCII.GetBytes(renewed.CaCertificate), w.ClientConfig.CaBundle));
        Assert.All(Validating()!.Webhooks, w => Assert.Equal(Encoding.ASCII.GetBytes(renewed.CaCertificate), w.ClientConfig.CaBundle));
    }

    [Fact]
    public async Task ASecondPassWithNothingDueWritesNothing()
    {
        using var replica = Replica();
        await replica.EnsureAsync(CancellationToken.None);
        var writes = _api.Requests.Count(r => r.Method is "POST" or "PUT" or "PATCH");

        await replica.EnsureAsync(CancellationToken.None);

        Assert.Equal(writes, _api.Requests.Count(r => r.Method is "POST" or "PUT" or "PATCH"));
    }
}
