using System.Net;
using System.Text.Json;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// One real iam4kube host shared by the hostile-input tests: two pods with different roles, one pod whose
/// ServiceAccount has no role. Requests from any other 127.0.4x address come from IPs no pod owns.
/// </summary>
public class HostileCluster : IAsyncLifetime
{
    public const string Victim = "127.0.40.1";
    public const string Attacker = "127.0.40.2";
    public const string Roleless = "127.0.40.3";
    public const string Unknown = "127.0.49.9";
    public static readonly string VictimRole = KubeObjects.RoleArn("victim-role");
    public static readonly string AttackerRole = KubeObjects.RoleArn("attacker-role");

    private readonly Dictionary<string, string> _roleOf = new()
    {
        [Victim] = VictimRole,
        [Attacker] = AttackerRole,
    };

    private readonly TimeSpan _waitTimeout;

    public HostileCluster()
        : this(TimeSpan.FromSeconds(1))
    {
    }

    protected HostileCluster(TimeSpan waitTimeout)
    {
        _waitTimeout = waitTimeout;
    }

    internal Iam4KubeTestHost Host { get; private set; } = null!;

    /// <summary>Which role each source IP may receive credentials for; any other IP may receive none.</summary>
    public IReadOnlyDictionary<string, string> RoleOf => _roleOf;

    public virtual async Task InitializeAsync()
    {
        Host = await Iam4KubeTestHost.StartAsync(startApp: false);
        Host.Api.Create(KubeObjects.Node("node-1"));
        Host.Api.Create(KubeObjects.ServiceAccount("bank", "vault", VictimRole));
        Host.Api.Create(KubeObjects.ServiceAccount("mallory", "app", AttackerRole));
        Host.Api.Create(KubeObjects.ServiceAccount("mallory", "plain"));
        Host.Api.Create(KubeObjects.Pod("bank", "vault-1", Victim, "vault"));
        Host.Api.Create(KubeObjects.Pod("mallory", "app-1", Attacker, "app"));
        Host.Api.Create(KubeObjects.Pod("mallory", "plain-1", Roleless, "plain"));
        await Host.StartAppAsync(o => o with { WaitTimeout = _waitTimeout });
        await Host.WaitUntilReadyAsync();
    }

    /// <summary>Adds a pod (and its ServiceAccount) before or while requests arrive; <paramref name="roleArn"/> null: no role.</summary>
    public void AddPod(string ip, string name, string? roleArn)
    {
        Host.Api.Create(KubeObjects.ServiceAccount("extra", name, roleArn));
        Host.Api.Create(KubeObjects.Pod("extra", name, ip, name));
        if (roleArn is not null)
        {
            _roleOf[ip] = roleArn;
        }
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    internal IPEndPoint Metadata => Host.MetadataEndpoint;

    /// <summary>
    /// The invariants every answer to hostile input keeps: a defined status (never a 5xx other than 503 with
    /// Retry-After), and credentials only ever of the role of the pod that owns the source IP.
    /// </summary>
    internal void AssertSafe(RawResponse response, string sourceIp, string request)
    {
        Assert.False(response.Closed && response.Reset, $"connection reset without an answer for {Printable(request)}");
        if (response.Closed)
        {
            return;
        }

        if (response.Status == 505)
        {
            // Kestrel's own answer to an HTTP version it does not speak, before iam4kube sees the request.
            Assert.False(request.Split("\r\n")[0].EndsWith(" HTTP/1.1", StringComparison.Ordinal), $"505 for {Printable(request)}");
            return;
        }

        Assert.True(response.Status is 200 or 400 or 401 or 403 or 404 or 405 or 408 or 413 or 414 or 431 or 503,
            $"status {response.Status} for {Printable(request)}");
        if (response.Status == 503)
        {
            Assert.True(response.Header("Retry-After") is not null, $"503 without Retry-After for {Printable(request)}");
        }

        AssertOwnCredentialsOnly(response.Body, sourceIp, request);
    }

    public void AssertOwnCredentialsOnly(string body, string sourceIp, string request)
    {
        if (!body.Contains("SecretAccessKey", StringComparison.Ordinal))
        {
            return;
        }

        using var json = JsonDocument.Parse(body);
        var keyId = json.RootElement.GetProperty("AccessKeyId").GetString()!;
        var call = Host.Sts.Calls.Single(c => c.AccessKeyIdIssued == keyId);
        Assert.True(RoleOf.TryGetValue(sourceIp, out var own) && own == call.RoleArn,
            $"{sourceIp} received credentials of {call.RoleArn} for {Printable(request)}");
    }

    /// <summary>The victim's own credentials still come back: the host survived.</summary>
    public async Task AssertStillServingAsync()
    {
        using var client = Host.ClientFrom(Victim);
        var response = await client.GetAsync("/latest/meta-data/iam/security-credentials/victim-role");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertOwnCredentialsOnly(await response.Content.ReadAsStringAsync(), Victim, "health check");
    }

    public static string Printable(string request)
    {
        var firstLine = request.Split("\r\n")[0];
        return firstLine.Length > 120 ? firstLine[..120] + $"… ({firstLine.Length} chars)" : firstLine;
    }
}
