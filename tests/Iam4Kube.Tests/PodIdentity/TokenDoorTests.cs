using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Iam4Kube.Hosting;
using Iam4Kube.PodIdentity;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;
using k8s.Models;

namespace Iam4Kube.Tests.PodIdentity;

/// <summary>The token door (EKS Pod Identity's protocol) through real HTTP, tokens verified by the fake API server's TokenReview.</summary>
public sealed class TokenDoorTests : IAsyncLifetime
{
    private const string Audience = Iam4KubeOptions.DefaultTokenAudience;
    private const string Host = "169.254.170.23";
    private static readonly string AppRole = KubeObjects.RoleArn("app-role");
    private Iam4KubeTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Node("node-1"));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "app", AppRole));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "plain"));
        _host.Api.Create(KubeObjects.Pod("team", "app-1", "127.0.20.1", "app"));
        _host.Api.Create(KubeObjects.Pod("team", "plain-1", "127.0.20.2", "plain"));
        _host.Api.Create(KubeObjects.Pod("team", "host-1", ip: null, "app", hostNetwork: true));
        await _host.StartAppAsync(o => o with
        {
            TokenListen = new IPEndPoint(IPAddress.Loopback, 0),
            TokenReviewBurst = 20,
            TokenReviewRate = 1,
            TokenCacheSize = 50,
        });
        await _host.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private string TokenOf(string pod, string audience = Audience) => _host.Api.IssueServiceAccountToken("team", pod, [audience]);

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(string? token, string host = Host)
    {
        using var client = _host.TokenClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/credentials");
        request.Headers.Host = host;
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }

        var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task ServesTheRoleOfTheTokensPodInEksPodIdentitysShapeAndVerifiesTheTokenOnce()
    {
        var token = TokenOf("app-1");

        var (status, body, response) = await GetAsync(token);
        var again = await GetAsync(token);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(["AccessKeyId", "SecretAccessKey", "Token", "AccountId", "Expiration"], json.RootElement.EnumerateObject().Select(p => p.Name));
        var accessKeyId = json.RootElement.GetProperty("AccessKeyId").GetString()!;
        Assert.Equal(_host.Sts.Issued[accessKeyId].SecretAccessKey, json.RootElement.GetProperty("SecretAccessKey").GetString());
        Assert.Equal("123456789012", json.RootElement.GetProperty("AccountId").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", json.RootElement.GetProperty("Expiration").GetString());
        Assert.Equal(AppRole, _host.Sts.Calls.Single(c => c.AccessKeyIdIssued == accessKeyId).RoleArn);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(1, _host.Api.TokenReviewCount);
        var review = _host.Api.Requests.Single(r => r.Path.EndsWith("/tokenreviews", StringComparison.Ordinal));
        Assert.Equal("POST", review.Method);
        Assert.DoesNotContain(token, _host.LogText, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], _host.LogText, StringComparison.Ordinal);
    }

    /// <summary>host-1 is a hostNetwork pod (no IP of its own); plain-1's ServiceAccount has no role.</summary>
    [Theory]
    [InlineData("host-1", HttpStatusCode.OK)]
    [InlineData("plain-1", HttpStatusCode.NotFound)]
    public async Task AnswersForThePodTheTokenNamesWhateverItsAddress(string pod, HttpStatusCode expected)
    {
        var (status, _, _) = await GetAsync(TokenOf(pod));

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task AnswersOnlyTheAgentsAddressesAsHostWithAnyPort()
    {
        var token = TokenOf("app-1");

        var foreign = await GetAsync(token, "evil.example.com");
        var ipv6 = await GetAsync(token, "[fd00:ec2::23]:80");
        var withPort = await GetAsync(token, "169.254.170.23:80");

        Assert.Equal(HttpStatusCode.Forbidden, foreign.Status);
        Assert.Contains("Host", foreign.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ipv6.Status);
        Assert.Equal(HttpStatusCode.OK, withPort.Status);
    }

    [Fact]
    public async Task RefusesMissingOversizedAndLineBreakingAuthorizationWithoutAskingTheApiServer()
    {
        var missing = await GetAsync(null);
        var oversized = await GetAsync(new string('a', 10 * 1024));
        var lineBreak = await RawAsync($"GET /v1/credentials HTTP/1.1\r\nHost: {Host}\r\nAuthorization: {TokenOf("app-1")}\rX\r\n\r\n");

        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Equal(HttpStatusCode.BadRequest, oversized.Status);
        Assert.Contains("8192", oversized.Body, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400", lineBreak, StringComparison.Ordinal);
        Assert.Equal(0, _host.Api.TokenReviewCount);
    }

    [Fact]
    public async Task RefusesExpiredAndOtherAudienceTokensForFreeAndTamperedOnesAfterReview()
    {
        var expired = _host.Api.IssueServiceAccountToken("team", "app-1", [Audience], DateTimeOffset.UtcNow.AddSeconds(-5));
        var otherAudience = TokenOf("app-1", "sts.amazonaws.com");
        var good = TokenOf("app-1").Split('.');
        var tampered = $"{good[0]}.{Base64Url(Payload(good[1]).Replace("\"app-1\"", "\"app-2\"", StringComparison.Ordinal))}.{good[2]}";

        var expiredAnswer = await GetAsync(expired);
        var audienceAnswer = await GetAsync(otherAudience);
        Assert.Equal(0, _host.Api.TokenReviewCount);
        var tamperedAnswer = await GetAsync(tampered);
        var notAJwt = await GetAsync("Bearer not-a-token");

        Assert.Equal(HttpStatusCode.Unauthorized, expiredAnswer.Status);
        Assert.Contains("expired", expiredAnswer.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, audienceAnswer.Status);
        Assert.Contains(Audience, audienceAnswer.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, tamperedAnswer.Status);
        Assert.Equal(1, _host.Api.TokenReviewCount);
        Assert.Equal(HttpStatusCode.Unauthorized, notAJwt.Status);
        Assert.Contains("token_invalid", await _host.AdminClient().GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusesTheTokenOfAPodBeingDeletedEvenWithItsVerdictCached()
    {
        var token = TokenOf("app-1");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(token)).Status);

        var pod = _host.Api.Get<V1Pod>("team", "app-1")!;
        pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
        _host.Api.Update(pod);
        await Testing.Eventually.TrueAsync(async () => (await GetAsync(token)).Status == HttpStatusCode.Forbidden, TimeSpan.FromSeconds(10), "the token of a pod being deleted was still served");

        var (status, body, _) = await GetAsync(token);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("being deleted", body, StringComparison.Ordinal);
        Assert.Equal(1, _host.Api.TokenReviewCount);
    }

    [Fact]
    public async Task RefusesAReplayedTokenAfterItsPodIsGoneAndItsIpAndNameBelongToANewPod()
    {
        var token = TokenOf("app-1");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(token)).Status);

        _host.Api.Delete<V1Pod>("team", "app-1");
        var successor = _host.Api.Create(KubeObjects.Pod("team", "app-1", "127.0.20.1", "app"));
        await Testing.Eventually.TrueAsync(() => Task.FromResult(_host.Service<Iam4Kube.Stores.PodIndex>().ByUid(successor.Metadata.Uid) is not null),
            TimeSpan.FromSeconds(10), "the new pod never reached the index");

        var (status, body, _) = await GetAsync(token);

        // The old pod's uid is unknown: the door waits out --wait-timeout (it might be a pod not seen yet), then refuses.
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("uid", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(TokenOf("app-1"))).Status);
    }


    [Fact]
    public async Task OnOneKeptAliveConnectionEachRequestIsJudgedByItsOwnTokensBytes()
    {
        // Kestrel reuses a repeated header's string on a kept-alive connection, and the verifier remembers a string's
        // hash: a token of the same length with one byte changed, or another pod's token, must still be judged anew.
        var good = TokenOf("app-1");
        var signature = good.LastIndexOf('.') + 8;
        var forged = good[..signature] + (good[signature] == 'A' ? 'B' : 'A') + good[(signature + 1)..];
        var plain = TokenOf("plain-1");
        using var client = _host.TokenClient();

        var answers = new List<HttpStatusCode>();
        foreach (var token in new[] { good, good, forged, good, plain, good })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/credentials");
            request.Headers.Host = Host;
            request.Headers.TryAddWithoutValidation("Authorization", token);
            using var response = await client.SendAsync(request);
            answers.Add(response.StatusCode);
        }

        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.OK],
            answers);
        Assert.Equal(3, _host.Api.TokenReviewCount);
    }

    [Fact]
    public async Task ConcurrentFirstRequestsWithOneTokenShareOneReview()
    {
        var token = TokenOf("app-1");

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => GetAsync(token)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Equal(1, _host.Api.TokenReviewCount);
    }

    [Fact]
    public async Task AFloodOfForgedTokensCostsBoundedReviewsAndBoundedMemory()
    {
        var started = DateTime.UtcNow;
        var answers = new List<HttpStatusCode>();
        for (var batch = 0; batch < 10; batch++)
        {
            answers.AddRange((await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => GetAsync(Forged())))).Select(a => a.Status));
        }

        var elapsed = DateTime.UtcNow - started;
        var verifier = _host.Service<ServiceAccountTokenVerifier>();
        Assert.All(answers, s => Assert.Contains(s, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests }));
        Assert.Contains(HttpStatusCode.TooManyRequests, answers);
        // Burst 20, then 1 a second (replenished in whole periods).
        Assert.InRange(_host.Api.TokenReviewCount, 1, 20 + (int)Math.Ceiling(elapsed.TotalSeconds) + 1);
        Assert.InRange(verifier.CachedVerdicts, 0, verifier.Capacity);
        Assert.Equal(50, verifier.Capacity);
    }

    /// <summary>Looks like a bound token for iam4kube, but no API server signed it.</summary>
    private static string Forged()
    {
        var payload = new JsonObject
        {
            ["aud"] = new JsonArray(Audience),
            ["exp"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(),
            ["iss"] = "https://kubernetes.default.svc.cluster.local",
            ["kubernetes.io"] = new JsonObject { ["namespace"] = "team", ["pod"] = new JsonObject { ["name"] = "x", ["uid"] = Guid.NewGuid().ToString() } },
        };
        return $"{Base64Url("{\"alg\":\"RS256\"}")}.{Base64Url(payload.ToJsonString())}.{Base64Url(Guid.NewGuid().ToString())}";
    }

    private static string Base64Url(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Payload(string encoded)
    {
        var padded = encoded.Replace('-', '+').Replace('_', '/');
        return Encoding.UTF8.GetString(Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '=')));
    }

    private async Task<string> RawAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _host.TokenEndpoint.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
