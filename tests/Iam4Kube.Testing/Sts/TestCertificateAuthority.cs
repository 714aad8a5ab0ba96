using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Iam4Kube.Testing.Sts;

/// <summary>
/// A throwaway certificate authority made in this process, and the server certificate it signs for 127.0.0.1 and
/// localhost: what a TLS stand-in for STS needs, and what a client must be told to trust (<see cref="CaFile"/> as
/// <c>SSL_CERT_FILE</c> for a child process, or <see cref="Certificate"/> as a custom trust root in-process).
/// RSA 2048 with SHA-256 throughout, as Amazon's own STS certificates and roots, so that a handshake costs the client
/// what it costs against real STS.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly string _directory;

    private TestCertificateAuthority(X509Certificate2 ca, X509Certificate2 server, string directory)
    {
        Certificate = ca;
        ServerCertificate = server;
        _directory = directory;
        CaFile = Path.Combine(directory, "ca.pem");
        File.WriteAllText(CaFile, ca.ExportCertificatePem() + "\n");
    }

    /// <summary>The CA's certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The server certificate with its private key, valid for 127.0.0.1, ::1 and localhost.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>The CA certificate as a PEM file: a trust bundle a process can be given with <c>SSL_CERT_FILE</c>.</summary>
    public string CaFile { get; }

    public static TestCertificateAuthority Create()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Iam4Kube Test STS CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var caWithKey = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=sts.test", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        serverRequest.CertificateExtensions.Add(names.Build(critical: false));
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caWithKey, true, false));
        using var signed = serverRequest.Create(caWithKey, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        var server = signed.CopyWithPrivateKey(serverKey);

        var directory = Directory.CreateTempSubdirectory("iam4kube-test-ca-").FullName;
        return new TestCertificateAuthority(X509CertificateLoader.LoadCertificate(caWithKey.RawData), server, directory);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        ServerCertificate.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary directory left behind is harmless.
        }
    }
}
