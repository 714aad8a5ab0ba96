using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Identity;
using Iam4Kube.LocalMode;
using Iam4Kube.Metadata;
using Iam4Kube.Observability;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Waiting;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iam4Kube.Benchmarks;

/// <summary>
/// The per-request work of a warm credentials GET outside Kestrel: find the pod by IP, validate an IMDSv2 token,
/// build and serialize the credentials document (as MetadataApi.GetCredentials does) into a reused buffer.
/// </summary>
[MemoryDiagnoser]
public class HotPathBenchmarks : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private PodIndex _index = null!;
    private IPAddress _ip = null!;
    private Utf8JsonWriter _writer = null!;
    private RoleCredentials _credentials = null!;
    private ImdsTokens _tokens = null!;
    private string _token = "";
    private CallerResolver _resolver = null!;
    private SourceIpIdentity _identity = null!;

    [GlobalSetup]
    public void Setup()
    {
        _index = new PodIndex();
        for (var i = 0; i < 10_000; i++)
        {
            _index.Upsert(new PodInfo(new NamespacedName("ns", $"pod-{i}"), $"uid-{i}", "sa", "node-1", [IPAddress.Parse($"10.0.{i / 250}.{(i % 250) + 1}")]));
        }

        _ip = IPAddress.Parse("10.0.20.1");
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Indented = true });
        var now = DateTimeOffset.UtcNow;
        _credentials = new RoleCredentials("ASIAIAM4KUBEBENCH000", new string('s', 40), new string('t', 800), now.AddHours(1), now);
        _tokens = new ImdsTokens(new byte[32], TimeProvider.System);
        _token = _tokens.Issue(_ip, "uid-5000", 21600);

        // The stages as the host wires them: every pod's ServiceAccount has a role whose credentials are cached.
        var metrics = new Iam4KubeMetrics();
        var freshness = new FreshnessPolicy(TimeSpan.FromHours(1));
        var store = new CredentialStore();
        var refresher = new CredentialRefresher(store, new OfflineCredentialIssuer(TimeProvider.System, NullLogger<OfflineCredentialIssuer>.Instance), freshness,
            new StsRateLimiter(10, 20), metrics, TimeProvider.System, NullLogger<CredentialRefresher>.Instance);
        var serviceAccounts = new ServiceAccountStore(refresher);
        serviceAccounts.Upsert(new V1ServiceAccount
        {
            Metadata = new V1ObjectMeta
            {
                NamespaceProperty = "ns",
                Name = "sa",
                Annotations = new Dictionary<string, string> { [RoleAnnotations.RoleArnKey] = "arn:aws:iam::123456789012:role/bench" },
            },
        });
        serviceAccounts.TryGet(new NamespacedName("ns", "sa"), out var assignment);
        store.Publish(((RoleAssignment.Assigned)assignment).Role, new CredentialState(_credentials, null));
        _identity = new SourceIpIdentity(_index);
        var namespaces = new NamespaceStore(NullLogger<NamespaceStore>.Instance);
        // The frozen-view guard on, as iam4kube runs it (--max-view-age), over the three watched kinds; a day, so that
        // no benchmark run outlives the view and measures the refusal instead.
        var view = new ViewFreshness(TimeProvider.System, TimeSpan.FromDays(1), NullLogger<ViewFreshness>.Instance);
        foreach (var kind in (string[])["pods", "serviceaccounts", "nodes"])
        {
            view.Touch(kind);
        }

        _resolver = new CallerResolver(new RolePolicy(serviceAccounts, RoleGuard.Off(namespaces), namespaces), new CredentialSupply(store, refresher, freshness, TimeProvider.System),
            new NodeStore(), new ParkedRequestBudget(10), view,
            metrics, TimeProvider.System, TimeSpan.FromSeconds(15));
    }

    [Benchmark]
    public string? Lookup() => _index.Lookup(_ip).Pod?.Uid;

    [Benchmark]
    public bool ValidateToken() => _tokens.TryValidate(_token, _ip, out _);

    /// <summary>What MetadataApi.GetCredentials did before CredentialsBody: a document and the serializer per request.</summary>
    [Benchmark]
    public int LookupAndSerialize()
    {
        var pod = _index.Lookup(_ip).Pod;
        var document = new CredentialsDocument(
            "Success",
            _credentials.LastUpdated.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            "AWS-HMAC",
            _credentials.AccessKeyId,
            _credentials.SecretAccessKey,
            _credentials.SessionToken,
            _credentials.Expiration.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, document, ImdsJsonContext.Default.CredentialsDocument);
        return _buffer.WrittenCount + (pod is null ? 0 : 1);
    }

    /// <summary>What MetadataApi.GetCredentials does now: the bytes rendered once per credentials, copied out.</summary>
    [Benchmark]
    public int LookupAndCachedBody()
    {
        var pod = _index.Lookup(_ip).Pod;
        var body = CredentialsBody.For(_credentials);
        _buffer.ResetWrittenCount();
        _buffer.Write(body);
        return _buffer.WrittenCount + (pod is null ? 0 : 1);
    }

    /// <summary>What a warm credentials GET runs through: identity, policy, credentials, then the cached body.</summary>
    [Benchmark]
    public int ResolveThroughTheStages()
    {
        var resolution = _resolver.TryResolve(_identity.Claim(_ip, "uid-5000"), Need.Credentials, out _);
        var body = CredentialsBody.For(resolution.Credentials!);
        _buffer.ResetWrittenCount();
        _buffer.Write(body);
        return _buffer.WrittenCount;
    }

    /// <summary>What MetadataApi serves on the extended path: the same rendered-once bytes, with AccountId.</summary>
    [Benchmark]
    public int LookupAndCachedExtendedBody()
    {
        var pod = _index.Lookup(_ip).Pod;
        var body = CredentialsBody.ExtendedFor(_credentials, "123456789012");
        _buffer.ResetWrittenCount();
        _buffer.Write(body);
        return _buffer.WrittenCount + (pod is null ? 0 : 1);
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _writer?.Dispose();
        }
    }
}
