using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Iam4Kube.Admission;

/// <summary>
/// The webhook's CA and serving certificate, as PEM, in the shape of the Secret that holds them (<c>ca.crt</c>,
/// <c>ca.key</c>, <c>tls.crt</c>, <c>tls.key</c>). ECDSA P-256 throughout; made with CertificateRequest, no other
/// software. <c>ca.crt</c> may hold two CAs while one replaces the other, so kube-apiserver trusts either.
/// </summary>
internal sealed record WebhookTlsMaterial(string CaCertificate, string CaKey, string Certificate, string Key)
{
    public const string CaCertificateKey = "ca.crt";
    public const string CaKeyKey = "ca.key";
    public const string CertificateKey = "tls.crt";
    public const string KeyKey = "tls.key";

    /// <summary>The DNS names kube-apiserver may use for the Service.</summary>
    public static string[] DnsNames(string service, string @namespace) =>
        [$"{service}.{@namespace}.svc", $"{service}.{@namespace}.svc.cluster.local", $"{service}.{@namespace}"];

    public static WebhookTlsMaterial Create(string service, string @namespace, DateTimeOffset now, TimeSpan caLifetime, TimeSpan servingLifetime)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = NewCa(caKey, now, caLifetime);
        return Issue(ca, caKey, ca.ExportCertificatePem(), service, @namespace, now, servingLifetime);
    }

    /// <summary>A new serving certificate from this material's CA (the first one in ca.crt); with <paramref name="newCa"/>, a new CA first, the old one kept in the bundle while it is valid.</summary>
    public WebhookTlsMaterial Renew(string service, string @namespace, DateTimeOffset now, TimeSpan caLifetime, TimeSpan servingLifetime, bool newCa)
    {
        if (!newCa)
        {
            using var ca = X509Certificate2.CreateFromPem(FirstCertificate(CaCertificate), CaKey);
            using var key = ca.GetECDsaPrivateKey()!;
            return Issue(ca, key, CaCertificate, service, @namespace, now, servingLifetime);
        }

        using var freshKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var fresh = NewCa(freshKey, now, caLifetime);
        using var old = X509Certificate2.CreateFromPem(FirstCertificate(CaCertificate));
        var bundle = fresh.ExportCertificatePem() + (old.NotAfter > now.UtcDateTime ? "\n" + old.ExportCertificatePem() : "");
        return Issue(fresh, freshKey, bundle, service, @namespace, now, servingLifetime);
    }

    public static WebhookTlsMaterial? FromSecret(IDictionary<string, byte[]>? data) =>
        data is not null
        && data.TryGetValue(CaCertificateKey, out var caCrt) && data.TryGetValue(CaKeyKey, out var caKey)
        && data.TryGetValue(CertificateKey, out var crt) && data.TryGetValue(KeyKey, out var key)
            ? new WebhookTlsMaterial(Encoding.ASCII.GetString(caCrt), Encoding.ASCII.GetString(caKey), Encoding.ASCII.GetString(crt), Encoding.ASCII.GetString(key))
            : null;

    public Dictionary<string, byte[]> ToSecretData() => new()
    {
        [CaCertificateKey] = Encoding.ASCII.GetBytes(CaCertificate),
        [CaKeyKey] = Encoding.ASCII.GetBytes(CaKey),
        [CertificateKey] = Encoding.ASCII.GetBytes(Certificate),
        [KeyKey] = Encoding.ASCII.GetBytes(Key),
    };

    /// <summary>The serving certificate with its key, for Kestrel.</summary>
    public X509Certificate2 ServingCertificate() => X509Certificate2.CreateFromPem(Certificate, Key);

    /// <summary>The current CA (first in ca.crt).</summary>
    public X509Certificate2 CurrentCa() => X509Certificate2.CreateFromPem(FirstCertificate(CaCertificate));

    private static X509Certificate2 NewCa(ECDsa key, DateTimeOffset now, TimeSpan lifetime)
    {
        var request = new CertificateRequest("CN=iam4kube-webhook-ca", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        // A little slack before now: clocks of the API server and this node differ.
        return request.CreateSelfSigned(now.AddMinutes(-5), now + lifetime);
    }

    private static WebhookTlsMaterial Issue(X509Certificate2 ca, ECDsa caKey, string caBundle, string service, string @namespace, DateTimeOffset now, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = DnsNames(service, @namespace);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build(critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var notAfter = now + lifetime < ca.NotAfter ? now + lifetime : new DateTimeOffset(ca.NotAfter);
        using var issuer = ca.HasPrivateKey ? ca : ca.CopyWithPrivateKey(caKey);
        using var certificate = request.Create(issuer, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
        return new WebhookTlsMaterial(caBundle, caKey.ExportPkcs8PrivateKeyPem(), certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static string FirstCertificate(string bundle)
    {
        const string end = "-----END CERTIFICATE-----";
        var at = bundle.IndexOf(end, StringComparison.Ordinal);
        return at < 0 ? bundle : bundle[..(at + end.Length)];
    }
}
