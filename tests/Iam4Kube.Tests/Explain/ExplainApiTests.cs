using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Tests.Hosting;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Explain;

/// <summary>
/// <c>/debug/explain</c> on the admin port, for each outcome of the outcome table a credentials request can meet,
/// and <c>iam4kube explain</c> (the built binary) against this running iam4kube. Never a secret in any answer.
/// </summary>
public sealed class ExplainApiTests : IAsyncLifetime
{
    private const string AppIp = "127.0.30.1";
    private const string PlainIp = "127.0.30.2";
    private const string BrokenIp = "127.0.30.3";
    private const string DeniedIp = "127.0.30.4";
    private const string SharedIp = "127.0.30.5";
    private static readonly string AppRole = KubeObjects.RoleArn("app-role");
    private static readonly string UntrustingRole = KubeObjects.RoleArn("untrusting");
    private Iam4KubeTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Sts.FailWith(StsFault.AccessDenied, UntrustingRole);
        _host.Api.Create(KubeObjects.Node("node-1", "eu-central-1", "eu-central-1b"));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "app", AppRole));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "plain"));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "broken", "not-an-arn"));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "denied", UntrustingRole));
        _host.Api.Create(KubeObjects.Pod("team", "app-1", AppIp, "app", uid: "uid-app-1"));
        _host.Api.Create(KubeObjects.Pod("team", "plain-1", PlainIp, "plain"));
        _host.Api.Create(KubeObjects.Pod("team", "broken-1", BrokenIp, "broken"));
        _host.Api.Create(KubeObjects.Pod("team", "denied-1", DeniedIp, "denied"));
        _host.Api.Create(KubeObjects.Pod("team", "twin-a", SharedIp, "app"));
        _host.Api.Create(KubeObjects.Pod("team", "twin-b", SharedIp, "app"));
        _host.Api.Create(KubeObjects.Pod("team", "host-agent", "127.0.30.6", "app", hostNetwork: true));
        _host.Api.Create(KubeObjects.Pod("team", "orphan-1", "127.0.30.7", "missing"));
        await _host.StartAppAsync();
        await _host.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<JsonElement> ExplainAsync(string query)
    {
        using var admin = _host.AdminClient();
        var response = await admin.GetAsync($"/debug/explain?{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static (string Outcome, int Status) AnswerOf(JsonElement explanation)
    {
        var answer = explanation.GetProperty("answer");
        return (answer.GetProperty("outcome").GetString()!, answer.GetProperty("status").GetInt32());
    }

    /// <summary>Explains <paramref name="query"/> once the role's first AssumeRole has been answered (issued or refused).</summary>
    private Task<JsonElement> ExplainOnceFetchedAsync(string query) =>
        Eventually.ObserveAsync(
            () => ExplainAsync(query),
            e => e.TryGetProperty("credentials", out var c) && c.TryGetProperty("lastStsAnswer", out _),
            TimeSpan.FromSeconds(10));

    [Fact]
    public async Task AServedCallerGetsTheWholeChainAndNeverASecret()
    {
        var explanation = await ExplainOnceFetchedAsync($"ip={AppIp}");

        var pod = explanation.GetProperty("pod");
        Assert.Equal("app-1", pod.GetProperty("name").GetString());
        Assert.Equal("uid-app-1", pod.GetProperty("uid").GetString());
        var serviceAccount = explanation.GetProperty("serviceAccount");
        Assert.Equal("app", serviceAccount.GetProperty("name").GetString());
        Assert.Equal(AppRole, serviceAccount.GetProperty("roleArnAnnotation").GetString());
        var policy = explanation.GetProperty("policy");
        Assert.Equal("resolved", policy.GetProperty("outcome").GetString());
        Assert.Equal("team@app", policy.GetProperty("sessionName").GetString());
        var credentials = explanation.GetProperty("credentials");
        var accessKeyId = credentials.GetProperty("accessKeyId").GetString()!;
        Assert.Equal("fresh", credentials.GetProperty("state").GetString());
        Assert.True(credentials.GetProperty("servable").GetBoolean());
        Assert.True(credentials.GetProperty("nextRefresh").GetDateTimeOffset() < credentials.GetProperty("expiration").GetDateTimeOffset());
        Assert.True(credentials.TryGetProperty("lastStsAnswer", out _));
        Assert.Equal(("credentials", 200), AnswerOf(explanation));

        // The metadata API agrees with what explain predicted, and the key is the one explain named.
        using var client = _host.ClientFrom(AppIp);
        var body = await client.GetStringAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Contains(accessKeyId, body, StringComparison.Ordinal);

        var issued = _host.Sts.Issued[accessKeyId];
        using var admin = _host.AdminClient();
        foreach (var answer in new[]
        {
            explanation.GetRawText(),
            await admin.GetStringAsync($"/debug/explain?ip={AppIp}&format=text"),
            await admin.GetStringAsync("/debug/explain?pod=team/app-1"),
        })
        {
            Assert.Contains(accessKeyId, answer, StringComparison.Ordinal);
            Assert.DoesNotContain(issued.SecretAccessKey, answer, StringComparison.Ordinal);
            Assert.DoesNotContain(issued.SessionToken, answer, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnIpNoPodClaimsIsPodUnknown()
    {
        var explanation = await ExplainAsync("ip=127.0.30.99");
        Assert.False(explanation.TryGetProperty("pod", out _));
        Assert.Contains("no running pod claims 127.0.30.99", explanation.GetProperty("noPod").GetString(), StringComparison.Ordinal);
        Assert.Equal(("pod_unknown", 404), AnswerOf(explanation));
        Assert.False(explanation.GetProperty("answer").GetProperty("final").GetBoolean());
    }

    [Fact]
    public async Task AnIpTwoPodsClaimIsAmbiguousAndNamesBoth()
    {
        var explanation = await ExplainAsync($"ip={SharedIp}");
        Assert.Equal(("pod_ambiguous", 404), AnswerOf(explanation));
        var claimants = explanation.GetProperty("claimants").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.Equal(2, claimants.Count);
        Assert.Contains(claimants, c => c.StartsWith("team/twin-a", StringComparison.Ordinal));
        Assert.Contains(claimants, c => c.StartsWith("team/twin-b", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHostNetworkPodIsFoundByNameAndSaysWhyItHasNoIdentity()
    {
        var explanation = await ExplainAsync("pod=team/host-agent");
        Assert.Contains("hostNetwork", explanation.GetProperty("pod").GetProperty("noIp").GetString(), StringComparison.Ordinal);
        Assert.Equal(("pod_unknown", 404), AnswerOf(explanation));
        Assert.Contains("claims no IP", explanation.GetProperty("answer").GetProperty("detail").GetString(), StringComparison.Ordinal);

        var unknown = await ExplainAsync("pod=team/nobody");
        Assert.Equal("no pod team/nobody is known to iam4kube", unknown.GetProperty("noPod").GetString());
    }

    [Fact]
    public async Task AServiceAccountWithoutTheAnnotationIsNoRole()
    {
        var explanation = await ExplainAsync($"ip={PlainIp}");
        Assert.True(explanation.GetProperty("serviceAccount").GetProperty("known").GetBoolean());
        Assert.False(explanation.GetProperty("serviceAccount").TryGetProperty("roleArnAnnotation", out _));
        Assert.Equal("no_role", explanation.GetProperty("policy").GetProperty("outcome").GetString());
        Assert.False(explanation.TryGetProperty("credentials", out _));
        Assert.Equal(("no_role", 404), AnswerOf(explanation));
    }

    [Fact]
    public async Task AMalformedAnnotationIsShownAsWrittenWithWhyItIsInvalid()
    {
        var explanation = await ExplainAsync("pod=team/broken-1");
        Assert.Equal("not-an-arn", explanation.GetProperty("serviceAccount").GetProperty("roleArnAnnotation").GetString());
        Assert.Equal("invalid_role", explanation.GetProperty("policy").GetProperty("outcome").GetString());
        Assert.Contains("not an ARN", explanation.GetProperty("policy").GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(("invalid_role", 404), AnswerOf(explanation));
    }

    [Fact]
    public async Task AnUnknownServiceAccountWaits()
    {
        var explanation = await ExplainAsync("pod=team/orphan-1");
        Assert.False(explanation.GetProperty("serviceAccount").GetProperty("known").GetBoolean());
        Assert.Equal(("serviceaccount_unknown", 404), AnswerOf(explanation));
        Assert.False(explanation.GetProperty("answer").GetProperty("final").GetBoolean());
    }

    [Fact]
    public async Task ARoleStsRefusesIsStsDeniedWithTheErrorCode()
    {
        var explanation = await ExplainOnceFetchedAsync($"ip={DeniedIp}");
        var credentials = explanation.GetProperty("credentials");
        Assert.Equal("AccessDenied", credentials.GetProperty("lastErrorCode").GetString());
        Assert.True(credentials.GetProperty("lastErrorPermanent").GetBoolean());
        Assert.Equal("refused by STS", credentials.GetProperty("state").GetString());
        Assert.Equal(("sts_denied", 404), AnswerOf(explanation));
    }

    [Fact]
    public async Task AnswersTextToAPersonByAcceptHeaderOrFormat()
    {
        using var admin = _host.AdminClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/debug/explain?ip={PlainIp}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        var response = await admin.SendAsync(request);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("pod             team/plain-1", text, StringComparison.Ordinal);
        Assert.Contains("iam.amazonaws.com/roleArn: (not set)", text, StringComparison.Ordinal);
        Assert.Contains("metadata API    404 no_role", text, StringComparison.Ordinal);
        Assert.Equal(text, await admin.GetStringAsync($"/debug/explain?ip={PlainIp}&format=text"));
    }

    [Theory]
    [InlineData("", "exactly one of")]
    [InlineData("ip=127.0.30.1&pod=team/app-1", "exactly one of")]
    [InlineData("ip=nowhere", "not an IP address")]
    [InlineData("pod=app-1", "not NAMESPACE/NAME")]
    [InlineData("ip=127.0.30.1&format=yaml", "expected text or json")]
    public async Task RefusesAMalformedQuestionWith400AndSaysWhy(string query, string message)
    {
        using var admin = _host.AdminClient();
        var response = await admin.GetAsync($"/debug/explain?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("iam4kube_requests_total{route=\"explain\",code=\"400\"}", await admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IsNotReachableOnTheMetadataPort()
    {
        using var client = _host.ClientFrom(AppIp);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/debug/explain?ip={AppIp}")).StatusCode);
    }

    [Fact]
    public async Task TheExplainCommandPrintsTheChainAgainstARunningIam4Kube()
    {
        var fetched = await ExplainOnceFetchedAsync($"ip={AppIp}");
        var accessKeyId = fetched.GetProperty("credentials").GetProperty("accessKeyId").GetString()!;

        var (exitCode, output, error) = await ProgramTests.RunAsync("explain", "--admin", $"http://127.0.0.1:{_host.AdminEndpoint.Port}", "--pod", "team/app-1");

        Assert.True(exitCode == 0, error);
        Assert.Contains("pod             team/app-1 (uid uid-app-1", output, StringComparison.Ordinal);
        Assert.Contains($"policy          role {AppRole} as session team@app", output, StringComparison.Ordinal);
        Assert.Contains($"access key {accessKeyId}", output, StringComparison.Ordinal);
        Assert.Contains("metadata API    200 credentials", output, StringComparison.Ordinal);
        Assert.DoesNotContain(_host.Sts.Issued[accessKeyId].SecretAccessKey, output, StringComparison.Ordinal);
        Assert.DoesNotContain(_host.Sts.Issued[accessKeyId].SessionToken, output, StringComparison.Ordinal);
    }
}
