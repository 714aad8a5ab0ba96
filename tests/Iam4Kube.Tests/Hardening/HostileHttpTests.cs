using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Iam4Kube.Metadata;
using Iam4Kube.Testing;
using static Iam4Kube.Tests.Hardening.HostileCluster;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// Hostile and malformed HTTP on the metadata port, sent as exact bytes from pod IPs. Whatever arrives: a defined
/// 4xx (or the documented 503), never another pod's credentials, never a path outside the allow-list, and the host
/// keeps answering.
/// </summary>
public sealed class HostileHttpTests(HostileCluster cluster) : IClassFixture<HostileCluster>
{
    private const string Credentials = "/latest/meta-data/iam/security-credentials/";

    private async Task<RawResponse> SendAsync(string request, string from = Attacker)
    {
        var response = await RawHttp.SendAsync(from, cluster.Metadata, request);
        cluster.AssertSafe(response, from, request);
        return response;
    }

    private static string Get(string target, params string[] headers) => RawHttp.Request("GET", target, headers);

    [Theory]
    // Dot segments are removed (RFC 3986) before routing, encoded or not: what is left is checked against the allow-list.
    [InlineData("/latest/meta-data/iam/security-credentials/%2e%2e/%2e%2e/%2e%2e/user-data", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/../../../meta-data/instance-id", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/..;/..;/..;/user-data", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/victim-role/..;/attacker-role", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/victim-role%2f..%2fattacker-role", 404)]
    [InlineData("/latest/meta-data/iam%2fsecurity-credentials%2fattacker-role", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials%2f", 404)]
    [InlineData("/latest%2fuser-data", 404)]
    [InlineData("/%2e%2e/%2e%2e/latest/user-data", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/%76ictim-role", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/victim-role%00", 400)]
    [InlineData("/latest/meta-data/iam/security-credentials/victim-role%20", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/%61ttacker-role", 200)]
    [InlineData("/latest/meta-data/iam/security-credentials/%2e%2e/info", 200)]
    [InlineData("/latest/meta-data/iam/./security-credentials/attacker-role", 200)]
    // A final "." or ".." after the listing is a role name (IAM allows both), never a way up: not the caller's role, 404.
    [InlineData("/latest/meta-data/iam/security-credentials/..", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/.", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials-extended/../", 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/%2e%2e", 404)]
    public async Task EncodedTraversalNeverLeavesTheAllowListNorReachesAnotherRole(string target, int expected)
    {
        var response = await SendAsync(Get(target));
        Assert.Equal(expected, response.Status);
        Assert.DoesNotContain("victim-role", response.Body, StringComparison.Ordinal);
        await cluster.AssertStillServingAsync();
    }

    [Theory]
    [InlineData("GET", "/Latest/meta-data/iam/security-credentials/")]
    [InlineData("GET", "/latest/Meta-Data/iam/security-credentials/attacker-role")]
    [InlineData("GET", "/latest/meta-data/IAM/info")]
    [InlineData("GET", "/latest/meta-data/iam/Security-Credentials-Extended/attacker-role")]
    [InlineData("GET", "/latest/meta-data/placement/Region")]
    [InlineData("GET", "/latest/dynamic/instance-identity/Document")]
    [InlineData("PUT", "/latest/api/Token")]
    public async Task PathsAreCaseSensitiveAsOnEc2(string method, string target)
    {
        var requests = cluster.Host.Service<Iam4Kube.Observability.Iam4KubeMetrics>().Requests.WithLabels("other", "404");
        var before = requests.Value;
        var response = await SendAsync(RawHttp.Request(method, target, $"{MetadataApi.TokenTtlHeader}: 60"));
        Assert.Equal(404, response.Status);
        Assert.Equal("Not Found", response.Body);
        // The middleware counts the request once the answer has gone out, so the client can read it first: wait for it.
        await Eventually.TrueAsync(() => requests.Value > before, TimeSpan.FromSeconds(10), "the 404 was not counted");
        Assert.Equal(before + 1, requests.Value);

        // The same path spelled as EC2 spells it is served.
        Assert.Equal(200, (await SendAsync(RawHttp.Request(method, target.ToLowerInvariant(), $"{MetadataApi.TokenTtlHeader}: 60"))).Status);
    }

    [Theory]
    [InlineData("GET", "/latest/meta-data/iam/security-credentials/", 200)]
    [InlineData("GET", "/latest/meta-data/iam/security-credentials/attacker-role", 200)]
    [InlineData("GET", "/latest/meta-data/iam/info", 200)]
    [InlineData("GET", "/latest/meta-data/placement/availability-zone", 200)]
    [InlineData("GET", "/latest/dynamic/instance-identity/document", 200)]
    [InlineData("GET", "/latest/user-data", 404)]
    [InlineData("GET", "/latest/meta-data/iam/security-credentials/victim-role", 404)]
    [InlineData("PUT", "/latest/api/token", 200)]
    [InlineData("get", "/latest/meta-data/iam/security-credentials/", 404)]
    public async Task EveryAnswerCarriesContentLengthAsEc2sDoRatherThanAChunkedBody(string method, string target, int expected)
    {
        var response = await SendAsync(RawHttp.Request(method, target, $"{MetadataApi.TokenTtlHeader}: 60"));

        Assert.Equal(expected, response.Status);
        Assert.Null(response.Header("Transfer-Encoding"));
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(response.Body).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Header("Content-Length"));
    }

    [Theory]
    [InlineData("//latest//meta-data//iam//security-credentials//attacker-role", 200)]
    [InlineData("///latest/meta-data/iam/security-credentials/", 200)]
    [InlineData("/latest/meta-data/iam/security-credentials//", 200)]
    [InlineData("//", 404)]
    [InlineData("//latest//user-data", 404)]
    [InlineData("//169.254.169.254/latest/meta-data/iam/security-credentials/", 404)]
    public async Task DoubleSlashesAreCollapsedAndTheAllowListStillDecides(string target, int expected)
    {
        var response = await SendAsync(Get(target));
        Assert.Equal(expected, response.Status);
    }

    [Fact]
    public async Task TenKilobytePathsAreRefusedWithoutHarm()
    {
        var response = await SendAsync(Get("/latest/" + new string('a', 10 * 1024)));
        Assert.Equal(414, response.Status);

        var traversal = string.Concat(Enumerable.Repeat("%2e%2e/", 1000));
        response = await SendAsync(Get(Credentials + traversal + "attacker-role"));
        Assert.Equal(404, response.Status);

        var justUnder = await SendAsync(Get(Credentials + new string('b', 7 * 1024)));
        Assert.Equal(404, justUnder.Status);
        await cluster.AssertStillServingAsync();
    }

    [Theory]
    [InlineData("/latest/meta-data/iam/security-credentials/attacker-r\xc3\xb4le")]
    [InlineData("/latest/meta-data/iam/security-credentials/attacker-role\xef\xbc\x8f..")]
    [InlineData("/latest/meta-data/iam/security-credentials/%C3%A9")]
    [InlineData("/latest/meta-data/iam/security-credentials/\xff\xfe")]
    [InlineData("/latest/meta-data/iam/security-credentials/%ff%fe")]
    [InlineData("/latest/meta-data/iam/security-credentials/%c0%ae%c0%ae/user-data")]
    [InlineData("/latest/meta-data/\x01iam")]
    [InlineData("/latest/meta-data/iam/security-credentials/%")]
    [InlineData("/latest/meta-data/iam/security-credentials/%zz")]
    public async Task NonAsciiAndInvalidUtf8InThePathAreRefused(string target)
    {
        var response = await SendAsync(Get(target));
        Assert.True(response.Status is 400 or 404, $"{response.Status} for {target}");
        await cluster.AssertStillServingAsync();
    }

    // EC2's metadata service ignores query strings; so does our routing: the path alone decides what is served.
    [Theory]
    [InlineData(Credentials + "attacker-role?x=1", 200)]
    [InlineData(Credentials + "attacker-role?role=victim-role&ip=127.0.40.1", 200)]
    [InlineData(Credentials + "?../../../user-data", 200)]
    [InlineData(Credentials + "victim-role?attacker-role", 404)]
    [InlineData("/latest/user-data?" + Credentials, 404)]
    [InlineData("/latest/meta-data/iam/security-credentials/attacker-role#fragment", 404)]
    public async Task QueryStringsAreIgnoredAsEc2DoesAndNeverChangeWhatIsServed(string target, int expected)
    {
        var response = await SendAsync(Get(target));
        Assert.Equal(expected, response.Status);
        if (expected == 200)
        {
            Assert.DoesNotContain("victim", response.Body, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("HEAD", Credentials + "attacker-role")]
    [InlineData("TRACE", Credentials + "attacker-role")]
    [InlineData("get", Credentials + "attacker-role")]
    [InlineData("Get", Credentials + "attacker-role")]
    [InlineData("put", "/latest/api/token")]
    [InlineData("POST", "/latest/api/token")]
    [InlineData("GET", "/latest/api/token")]
    [InlineData("PUT", Credentials + "attacker-role")]
    [InlineData("PROPFIND", Credentials)]
    [InlineData("DELETE", "/latest/api/token")]
    [InlineData("FOO", Credentials + "attacker-role")]
    public async Task MethodsOtherThanTheAllowedGetAndPutAre404(string method, string target)
    {
        var response = await SendAsync(RawHttp.Request(method, target, $"{MetadataApi.TokenTtlHeader}: 60"));
        Assert.True(response.Status is 404 or 405, $"{method} {target}: {response.Status}");
        Assert.DoesNotContain("SecretAccessKey", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254:80\r\n\r\n")]
    [InlineData("CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n")]
    [InlineData("GET http://10.0.0.1/latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: 10.0.0.1\r\nConnection: close\r\n\r\n")]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n")]
    [InlineData("GET /latest/meta-data/iam/security-credentials/ HTTP/1.0\r\n\r\n")]
    [InlineData("GET /latest/meta-data/iam/security-credentials/ HTTP/2.0\r\n\r\n")]
    [InlineData("GET /latest/meta-data/iam/security-credentials/\r\n\r\n")]
    [InlineData("\r\n\r\nGET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")]
    [InlineData("GET  /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\nHost: x\n\n")]
    public async Task ProxyFormsAndMalformedRequestLinesAreNeverProxiedNorFatal(string request)
    {
        var response = await SendAsync(request);
        // Absolute-form targets are routed by their path only: the pod's own role, never a proxy to another host.
        if (response.Status == 200)
        {
            Assert.Equal("attacker-role", response.Body);
        }

        await cluster.AssertStillServingAsync();
    }

    [Fact]
    public async Task DuplicatedTokenHeadersAreRefused()
    {
        var token = await PutTokenAsync(Attacker);
        var twice = await SendAsync(Get(Credentials + "attacker-role", $"{MetadataApi.TokenHeader}: {token}", $"{MetadataApi.TokenHeader}: {token}"));
        Assert.Equal(401, twice.Status);

        var commaJoined = await SendAsync(Get(Credentials + "attacker-role", $"{MetadataApi.TokenHeader}: {token}, {token}"));
        Assert.Equal(401, commaJoined.Status);

        var ttlTwice = await SendAsync(RawHttp.Request("PUT", "/latest/api/token", $"{MetadataApi.TokenTtlHeader}: 60", $"{MetadataApi.TokenTtlHeader}: 21600"));
        Assert.Equal(400, ttlTwice.Status);

        var ttlJoined = await SendAsync(RawHttp.Request("PUT", "/latest/api/token", $"{MetadataApi.TokenTtlHeader}: 60, 60"));
        Assert.Equal(400, ttlJoined.Status);

        var once = await SendAsync(Get(Credentials + "attacker-role", $"x-AWS-ec2-METADATA-token: {token}"));
        Assert.Equal(200, once.Status);
    }

    [Fact]
    public async Task OversizedAndTooManyHeadersAreRefusedWith431()
    {
        var huge = await SendAsync(Get(Credentials, "X-Padding: " + new string('x', 20 * 1024)));
        Assert.Equal(431, huge.Status);

        var hugeToken = await SendAsync(Get(Credentials, $"{MetadataApi.TokenHeader}: " + new string('A', 12 * 1024)));
        Assert.True(hugeToken.Status is 401 or 431, $"{hugeToken.Status}");

        var many = await SendAsync(Get(Credentials, [.. Enumerable.Range(0, 200).Select(i => $"X-H{i}: {i}")]));
        Assert.Equal(431, many.Status);

        var bad = await SendAsync(Get(Credentials, "No colon here"));
        Assert.Equal(400, bad.Status);
        await cluster.AssertStillServingAsync();
    }

    [Theory]
    [InlineData("X-Forwarded-For: 127.0.40.1")]
    [InlineData("x-forwarded-for: 127.0.40.1")]
    [InlineData("X-Forwarded-For:")]
    [InlineData("Forwarded: for=127.0.40.1")]
    [InlineData("FORWARDED: for=\"[::1]\"")]
    public async Task ForwardedHeadersNeverGetATokenNorChangeWhoTheCallerIs(string header)
    {
        var put = await SendAsync(RawHttp.Request("PUT", "/latest/api/token", $"{MetadataApi.TokenTtlHeader}: 60", header));
        Assert.Equal(403, put.Status);

        // On GET the header is ignored: identity is the TCP source address, so the attacker gets its own role...
        var listing = await SendAsync(Get(Credentials, header, "X-Real-IP: 127.0.40.1", "True-Client-IP: 127.0.40.1"));
        Assert.Equal(200, listing.Status);
        Assert.Equal("attacker-role", listing.Body);
        var credentials = await SendAsync(Get(Credentials + "victim-role", header));
        Assert.Equal(404, credentials.Status);

        // ...and an IP that no pod owns gets nothing, whichever pod the header names.
        var unknown = await SendAsync(Get(Credentials, header), from: Unknown);
        Assert.Equal(404, unknown.Status);
    }

    [Fact]
    public async Task InvalidExpiredAndForeignTokensAreRefusedWith401()
    {
        var tokens = cluster.Host.Service<ImdsTokens>();
        var victimToken = await PutTokenAsync(Victim);
        var attackerToken = await PutTokenAsync(Attacker);
        string[] refused =
        [
            "garbage",
            "",
            "%%%%",
            new string('A', 600),
            victimToken,                                                      // issued to another IP
            attackerToken[..^2] + (attackerToken[^2] == 'A' ? "BA" : "AA"),    // tampered signature
            attackerToken.Replace('-', '+').Replace('_', '/'),                // other base64 alphabet
            tokens.Issue(System.Net.IPAddress.Parse(Attacker), null, -10),     // expired
            tokens.Issue(System.Net.IPAddress.Parse(Attacker), "uid-of-a-pod-long-gone", 60), // bound to another pod
            new ImdsTokens(new byte[32], TimeProvider.System).Issue(System.Net.IPAddress.Parse(Attacker), null, 60), // foreign key
        ];
        foreach (var token in refused.Where(t => t != attackerToken))
        {
            var response = await SendAsync(Get(Credentials + "attacker-role", $"{MetadataApi.TokenHeader}: {token}"));
            Assert.True(response.Status == 401, $"token '{token[..Math.Min(token.Length, 30)]}…' got {response.Status}");
        }

        var unknown = await SendAsync(Get(Credentials, $"{MetadataApi.TokenHeader}: {victimToken}"), from: Unknown);
        Assert.Equal(401, unknown.Status);

        var valid = await SendAsync(Get(Credentials + "attacker-role", $"{MetadataApi.TokenHeader}: {attackerToken}"));
        Assert.Equal(200, valid.Status);
    }

    [Fact]
    public async Task SlowClientsTricklingHeadersAreCutOffByTheHeaderTimeout()
    {
        using var socket = await RawHttp.ConnectAsync(Attacker, cluster.Metadata);
        var request = Encoding.ASCII.GetBytes(Get(Credentials + "attacker-role") + new string('x', 200));
        var watch = Stopwatch.StartNew();
        var closed = false;
        foreach (var b in request)
        {
            try
            {
                await socket.SendAsync(new[] { b }, SocketFlags.None);
            }
            catch (SocketException)
            {
                closed = true;
                break;
            }

            if (socket.Poll(0, SelectMode.SelectRead))
            {
                closed = true;
                break;
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(15))
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.True(closed, $"the connection was still open after {watch.Elapsed}");
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(15));
        await cluster.AssertStillServingAsync();
    }

    [Fact]
    public async Task SlowClientsStallingABodyAreCutOff()
    {
        // The token answer does not need the body; the connection must not stay open for the rest of it.
        using var socket = await RawHttp.ConnectAsync(Attacker, cluster.Metadata);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\n{MetadataApi.TokenTtlHeader}: 60\r\nContent-Length: 4000\r\n\r\n0123456789"), SocketFlags.None);
        var watch = Stopwatch.StartNew();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[4096];
        var received = new StringBuilder();
        int read;
        try
        {
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        Assert.StartsWith("HTTP/1.1 200", received.ToString(), StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"the stalled body kept the connection open for {watch.Elapsed}");
    }

    [Fact]
    public async Task BodiesOnGetsAndTruncatedBodiesAreHarmless()
    {
        var withBody = await SendAsync($"GET {Credentials}attacker-role HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        Assert.Equal(200, withBody.Status);

        var tooBig = await SendAsync($"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\n{MetadataApi.TokenTtlHeader}: 60\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n");
        Assert.True(tooBig.Status is 200 or 413, $"{tooBig.Status}");

        var smuggled = await SendAsync($"GET {Credentials} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /latest/user-data HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.True(smuggled.Status is 200 or 400, $"{smuggled.Status}");
        await cluster.AssertStillServingAsync();
    }

    [Fact]
    public async Task AHostNetworkPodIsNeverServedEvenWhenItsServiceAccountHasARole()
    {
        // A hostNetwork pod shares the node's IP with every other hostNetwork pod and the node itself.
        cluster.Host.Api.Create(Testing.Builders.KubeObjects.Pod("bank", "host-agent", "127.0.40.7", "vault", hostNetwork: true));
        var response = await SendAsync(Get(Credentials + "victim-role"), from: "127.0.40.7");
        Assert.Equal(404, response.Status);
        Assert.Contains("no running pod has IP 127.0.40.7", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventsAndMetricsNeverCarrySecretsOrSessionTokens()
    {
        var response = await SendAsync(Get(Credentials + "victim-role"), from: Victim);
        Assert.Equal(200, response.Status);
        using var json = System.Text.Json.JsonDocument.Parse(response.Body);
        var secret = json.RootElement.GetProperty("SecretAccessKey").GetString()!;
        var token = json.RootElement.GetProperty("Token").GetString()!;
        await Eventually.TrueAsync(() => cluster.Host.Api.Events.Any(e => e.Reason == "IamCredentialsServed" && e.InvolvedObject.Name == "vault-1"),
            TimeSpan.FromSeconds(10), "no IamCredentialsServed Event on the victim's pod");
        foreach (var e in cluster.Host.Api.Events)
        {
            Assert.DoesNotContain(secret, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(token, e.Message, StringComparison.Ordinal);
        }

        using var admin = cluster.Host.AdminClient();
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.DoesNotContain(secret, metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(json.RootElement.GetProperty("AccessKeyId").GetString()!, metrics, StringComparison.Ordinal);
    }

    private async Task<string> PutTokenAsync(string from)
    {
        var response = await SendAsync(RawHttp.Request("PUT", "/latest/api/token", $"{MetadataApi.TokenTtlHeader}: 60"), from);
        Assert.Equal(200, response.Status);
        return response.Body;
    }
}
