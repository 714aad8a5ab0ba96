using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Iam4Kube.Cluster;
using Iam4Kube.Watching;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Iam4Kube.Admission;

/// <summary>Where the webhook's TLS lives and how long its certificates last.</summary>
internal sealed record WebhookTlsSettings(string Namespace, string ServiceName, string ConfigurationName)
{
    /// <summary>The ValidatingWebhookConfiguration whose caBundle is kept in step too; null or empty: none.</summary>
    public string? ValidatingConfigurationName { get; init; }

    /// <summary>The Secret shared by all replicas (fixed, so that RBAC can name it).</summary>
    public const string SecretName = "iam4kube-webhook-tls";

    public TimeSpan CaLifetime { get; init; } = TimeSpan.FromDays(3650);

    public TimeSpan ServingLifetime { get; init; } = TimeSpan.FromDays(365);

    /// <summary>How often the Secret and the caBundle are checked even when nothing is due (another replica may have rotated).</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// TLS for the admission webhooks without extra software: a CA and a serving certificate kept in one Secret that
/// every replica shares (created by whichever replica comes first: a 409 on create means another won, so it is
/// read), renewed when a third of a certificate's life is left (the CA likewise, the old one staying in the bundle
/// while valid), and the caBundle of the MutatingWebhookConfiguration and of the ValidatingWebhookConfiguration kept
/// equal to the Secret's ca.crt (either missing is a warning: both kinds of webhook are optional). Updates carry
/// the resourceVersion read, so two replicas renewing at once cannot overwrite each other: the loser re-reads.
/// </summary>
internal sealed partial class WebhookCertificates(KubernetesApi client, WebhookTlsSettings settings, TimeProvider time, ILogger<WebhookCertificates> logger)
    : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);
    private volatile X509Certificate2? _current;
    private string? _loadedCertificate;

    /// <summary>The serving certificate Kestrel presents; null until the Secret was first read or made.</summary>
    public X509Certificate2? Current => _current;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = RetryDelay;
            try
            {
                next = await EnsureAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, e.GetType().Name, e.Message);
            }

            await Task.Delay(next, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>One pass: the Secret exists and is not due, Kestrel has it, the caBundle matches. Returns when to look again.</summary>
    internal async Task<TimeSpan> EnsureAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (attempt > 5)
            {
                throw new InvalidOperationException($"the Secret {WebhookTlsSettings.SecretName} kept changing while being renewed");
            }

            var now = time.GetUtcNow();
            var secret = await ReadSecretAsync(cancellationToken);
            var material = secret is null ? null : WebhookTlsMaterial.FromSecret(secret.Data);
            var renewal = material is null ? Renewal.Create : Due(material, now);
            if (renewal == Renewal.None)
            {
                Load(material!);
                await SyncCaBundleAsync(material!, cancellationToken);
                return NextCheck(material!, now);
            }

            var fresh = material is null || renewal == Renewal.Create
                ? WebhookTlsMaterial.Create(settings.ServiceName, settings.Namespace, now, settings.CaLifetime, settings.ServingLifetime)
                : material.Renew(settings.ServiceName, settings.Namespace, now, settings.CaLifetime, settings.ServingLifetime, renewal == Renewal.CaAndServing);
            try
            {
                await WriteSecretAsync(secret, fresh, cancellationToken);
                Log.Written(logger, secret is null ? "created" : "renewed", renewal.ToString(), settings.Namespace, WebhookTlsSettings.SecretName);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Another replica created or renewed it first: use theirs.
                Log.Raced(logger, WebhookTlsSettings.SecretName);
            }
        }
    }

    private async Task<V1Secret?> ReadSecretAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await client.ReadNamespacedSecretAsync(WebhookTlsSettings.SecretName, settings.Namespace, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private Task<V1Secret> WriteSecretAsync(V1Secret? existing, WebhookTlsMaterial material, CancellationToken cancellationToken)
    {
        if (existing is null)
        {
            return client.CreateNamespacedSecretAsync(new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Type = "kubernetes.io/tls",
                Metadata = new V1ObjectMeta { Name = WebhookTlsSettings.SecretName, NamespaceProperty = settings.Namespace, Labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "iam4kube" } },
                Data = material.ToSecretData(),
            }, settings.Namespace, cancellationToken);
        }

        // The resourceVersion read makes this conditional: 409 if another replica wrote in between.
        existing.Data = material.ToSecretData();
        return client.ReplaceNamespacedSecretAsync(existing, WebhookTlsSettings.SecretName, settings.Namespace, cancellationToken);
    }

    private void Load(WebhookTlsMaterial material)
    {
        if (_loadedCertificate == material.Certificate)
        {
            return;
        }

        _current = material.ServingCertificate();
        _loadedCertificate = material.Certificate;
        Log.Loaded(logger, _current.NotAfter.ToUniversalTime());
    }

    private async Task SyncCaBundleAsync(WebhookTlsMaterial material, CancellationToken cancellationToken)
    {
        var bundle = Encoding.ASCII.GetBytes(material.CaCertificate);
        await SyncCaBundleAsync("MutatingWebhookConfiguration", settings.ConfigurationName, bundle,
            async name => (await client.ReadMutatingWebhookConfigurationAsync(name, cancellationToken)).Webhooks?.Select(w => (w.Name, w.ClientConfig?.CaBundle)),
            (patch, name) => client.PatchMutatingWebhookConfigurationAsync(patch, name, cancellationToken),
            Log.NoConfiguration);
        if (settings.ValidatingConfigurationName is { Length: > 0 } validating)
        {
            await SyncCaBundleAsync("ValidatingWebhookConfiguration", validating, bundle,
                async name => (await client.ReadValidatingWebhookConfigurationAsync(name, cancellationToken)).Webhooks?.Select(w => (w.Name, w.ClientConfig?.CaBundle)),
                (patch, name) => client.PatchValidatingWebhookConfigurationAsync(patch, name, cancellationToken),
                Log.NoValidatingConfiguration);
        }
    }

    /// <summary>Patches the caBundle of each webhook of one configuration that lacks <paramref name="bundle"/>; a configuration that does not exist is only a warning.</summary>
    private async Task SyncCaBundleAsync(
        string kind,
        string configurationName,
        byte[] bundle,
        Func<string, Task<IEnumerable<(string Name, byte[]? CaBundle)>?>> read,
        Func<string, string, Task> patch,
        Action<ILogger, string> missing)
    {
        List<(string Name, byte[]? CaBundle)> webhooks;
        try
        {
            webhooks = [.. await read(configurationName) ?? []];
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            missing(logger, configurationName);
            return;
        }

        var operations = new List<string>();
        for (var i = 0; i < webhooks.Count; i++)
        {
            var (name, caBundle) = webhooks[i];
            if (caBundle is { } current && current.AsSpan().SequenceEqual(bundle))
            {
                continue;
            }

            // "test" first: if the list changed since the read, the patch fails instead of landing on another webhook.
            operations.Add($$"""{"op":"test","path":"/webhooks/{{i}}/name","value":{{System.Text.Json.JsonSerializer.Serialize(name, PatchStrings.Default.String)}}}""");
            operations.Add($$"""{"op":"add","path":"/webhooks/{{i}}/clientConfig/caBundle","value":"{{Convert.ToBase64String(bundle)}}"}""");
        }

        if (operations.Count > 0)
        {
            await patch("[" + string.Join(",", operations) + "]", configurationName);
            Log.CaBundlePatched(logger, operations.Count / 2, kind, configurationName);
        }
    }

    private Renewal Due(WebhookTlsMaterial material, DateTimeOffset now)
    {
        try
        {
            using var ca = material.CurrentCa();
            using var serving = material.ServingCertificate();
            if (DueAt(ca) <= now)
            {
                return Renewal.CaAndServing;
            }

            var names = WebhookTlsMaterial.DnsNames(settings.ServiceName, settings.Namespace);
            return DueAt(serving) <= now || !names.All(n => serving.MatchesHostname(n)) ? Renewal.Serving : Renewal.None;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return Renewal.Create;
        }
    }

    private TimeSpan NextCheck(WebhookTlsMaterial material, DateTimeOffset now)
    {
        using var ca = material.CurrentCa();
        using var serving = material.ServingCertificate();
        var due = DueAt(serving) < DueAt(ca) ? DueAt(serving) : DueAt(ca);
        var wait = due - now;
        return wait < settings.CheckInterval ? (wait > TimeSpan.Zero ? wait : TimeSpan.Zero) : settings.CheckInterval;
    }

    /// <summary>When a third of the certificate's life is left.</summary>
    private static DateTimeOffset DueAt(X509Certificate2 certificate)
    {
        var from = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var to = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        return to - ((to - from) / 3);
    }

    public override void Dispose()
    {
        _current?.Dispose();
        base.Dispose();
    }

    private enum Renewal
    {
        None,
        Create,
        Serving,
        CaAndServing,
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Webhook TLS Secret {NamespaceName}/{Secret} {Action} ({Renewal})")]
        public static partial void Written(ILogger logger, string action, string renewal, string namespaceName, string secret);

        [LoggerMessage(2, LogLevel.Information, "Another replica wrote the webhook TLS Secret {Secret} first; reading theirs")]
        public static partial void Raced(ILogger logger, string secret);

        [LoggerMessage(3, LogLevel.Information, "Serving the webhook certificate valid until {NotAfter:u}")]
        public static partial void Loaded(ILogger logger, DateTime notAfter);

        [LoggerMessage(4, LogLevel.Information, "Patched the caBundle of {Webhooks} webhooks in {Kind} {Configuration}")]
        public static partial void CaBundlePatched(ILogger logger, int webhooks, string kind, string configuration);

        [LoggerMessage(5, LogLevel.Warning, "MutatingWebhookConfiguration {Configuration} does not exist: no caBundle to keep in step (pods are not mutated; they still get their role through the IMDS door)")]
        public static partial void NoConfiguration(ILogger logger, string configuration);

        [LoggerMessage(6, LogLevel.Warning, "Keeping the webhook's TLS failed ({Error}: {Message}); retrying")]
        public static partial void Failed(ILogger logger, string error, string message);

        [LoggerMessage(7, LogLevel.Warning, "ValidatingWebhookConfiguration {Configuration} does not exist: no caBundle to keep in step (role annotations are not checked when ServiceAccounts are written; serving still refuses forbidden roles)")]
        public static partial void NoValidatingConfiguration(ILogger logger, string configuration);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class PatchStrings : System.Text.Json.Serialization.JsonSerializerContext;
