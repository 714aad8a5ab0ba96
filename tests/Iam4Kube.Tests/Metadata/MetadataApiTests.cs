using System.Net;
using System.Text.Json;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Stores;
using Iam4Kube.Testing;
using Iam4Kube.Tests.TestHost;
using k8s.Models;

namespace Iam4Kube.Tests.Metadata;

/// <summary>The metadata API through real HTTP, against the fake API server and fake STS.</summary>
public sealed class MetadataApiTests : IAsyncLifetime
{
    private const string PodIp = "127.0.10.1";
    private static readonly string AppRole = KubeObjects.RoleArn("app-role");
    private Iam4KubeTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Node("node-1", "eu-central-1", "eu-central-1b"));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "app", AppRole));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "plain"));
        _host.Api.Create(KubeObjects.Pod("team", "app-1", PodIp, "app"));
        await _host.StartAppAsync();
        await _host.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private HttpClient Pod(string ip = PodIp) => _host.ClientFrom(ip);

    [Fact]
    public async Task ServesTheRoleNameThenItsCredentialsOverImdsV1()
    {
        using var client = Pod();
        var listing = await client.GetAsync("/latest/meta-data/iam/security-credentials/");
        Assert.Equal(HttpStatusCode.OK, listing.StatusCode);
        Assert.Equal("app-role", await listing.Content.ReadAsStringAsync());

        var response = await client.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal(["Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Success", root.GetProperty("Code").GetString());
        Assert.Equal("AWS-HMAC", root.GetProperty("Type").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", root.GetProperty("Expiration").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", root.GetProperty("LastUpdated").GetString());

        // Secrets appear verbatim, as EC2 writes them ('+' not escaped as \u002B).
        var secret = _host.Sts.Issued[root.GetProperty("AccessKeyId").GetString()!].SecretAccessKey;
        Assert.Equal(secret, root.GetProperty("SecretAccessKey").GetString());
        Assert.Contains($"\"SecretAccessKey\": \"{secret}\"", body, StringComparison.Ordinal);
        var sessionToken = _host.Sts.Issued[root.GetProperty("AccessKeyId").GetString()!].SessionToken;
        Assert.Contains($"\"Token\": \"{sessionToken}\"", body, StringComparison.Ordinal);

        var issued = _host.Sts.Calls.Single(c => c.AccessKeyIdIssued == root.GetProperty("AccessKeyId").GetString());
        Assert.Equal(AppRole, issued.RoleArn);
        Assert.Equal("team@app", issued.RoleSessionName);
        Assert.Equal(3600, issued.DurationSeconds);
    }

    [Fact]
    public async Task ServesCredentialsOverImdsV2WithATokenBoundToTheCaller()
    {
        using var client = Pod();
        using var put = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
        put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "21600");
        var tokenResponse = await client.SendAsync(put);
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        Assert.Equal("21600", tokenResponse.Headers.GetValues("X-aws-ec2-metadata-token-ttl-seconds").Single());
        var token = await tokenResponse.Content.ReadAsStringAsync();

        using var get = new HttpRequestMessage(HttpMethod.Get, "/latest/meta-data/iam/security-credentials/app-role");
        get.Headers.Add("X-aws-ec2-metadata-token", token);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(get)).StatusCode);

        // The same token presented from another IP is refused.
        await AssertRefusedFromAnotherPodAsync(token, "127.0.10.2", "/latest/meta-data/iam/security-credentials/app-role");
    }

    private async Task AssertRefusedFromAnotherPodAsync(string token, string thiefIp, string path)
    {
        _host.Api.Create(KubeObjects.Pod("team", "thief-" + thiefIp.Replace('.', '-'), thiefIp, "app"));
        using var thief = Pod(thiefIp);
        using var stolen = new HttpRequestMessage(HttpMethod.Get, path);
        stolen.Headers.Add("X-aws-ec2-metadata-token", token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await thief.SendAsync(stolen)).StatusCode);
    }

    [Fact]
    public async Task ServesTheExtendedPathAsTheClassicOnePlusTheRolesAccountIdOverImdsV1()
    {
        using var client = Pod();
        var listing = await client.GetAsync("/latest/meta-data/iam/security-credentials-extended/");
        Assert.Equal(HttpStatusCode.OK, listing.StatusCode);
        Assert.Equal("app-role", await listing.Content.ReadAsStringAsync());

        var classic = await client.GetStringAsync("/latest/meta-data/iam/security-credentials/app-role");
        var response = await client.GetAsync("/latest/meta-data/iam/security-credentials-extended/app-role");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(["Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("123456789012", root.GetProperty("AccountId").GetString());

        // The same credentials as the classic path: one cache entry, two renderings.
        using var classicJson = JsonDocument.Parse(classic);
        foreach (var field in classicJson.RootElement.EnumerateObject())
        {
            Assert.Equal(field.Value.GetString(), root.GetProperty(field.Name).GetString());
        }
    }

    [Fact]
    public async Task ServesTheExtendedPathOverImdsV2AndRefusesAStolenToken()
    {
        using var client = Pod();
        var token = await PutTokenAsync(client, "21600");
        foreach (var path in new[] { "/latest/meta-data/iam/security-credentials-extended", "/latest/meta-data/iam/security-credentials-extended/app-role/" })
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, path);
            get.Headers.Add("X-aws-ec2-metadata-token", token);
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(get)).StatusCode);
        }

        await AssertRefusedFromAnotherPodAsync(token, "127.0.10.9", "/latest/meta-data/iam/security-credentials-extended/app-role");
    }

    [Fact]
    public async Task TheExtendedPathsAccountIdIsTheAccountOfEachPodsOwnRole()
    {
        _host.Api.Create(KubeObjects.ServiceAccount("other", "app", KubeObjects.RoleArn("other-role", "444455556666")));
        _host.Api.Create(KubeObjects.Pod("other", "app-1", "127.0.10.8", "app"));
        using var client = Pod("127.0.10.8");
        using var json = JsonDocument.Parse(await client.GetStringAsync("/latest/meta-data/iam/security-credentials-extended/other-role"));
        Assert.Equal("444455556666", json.RootElement.GetProperty("AccountId").GetString());
    }

    [Fact]
    public async Task RefusesAnotherRolesNameOnTheExtendedPathAsOnTheClassicOne()
    {
        using var client = Pod();
        foreach (var path in new[] { "/latest/meta-data/iam/security-credentials-extended/someone-elses-role", "/latest/meta-data/iam/security-credentials-extended/APP-ROLE" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.DoesNotContain("SecretAccessKey", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var metrics = _host.AdminClient();
        Assert.Contains("iam4kube_request_outcomes_total{outcome=\"wrong_role_name\"} 2", await metrics.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusesATokenOnceItsIpBelongsToAnotherPod()
    {
        using var client = Pod("127.0.10.3");
        var first = _host.Api.Create(KubeObjects.Pod("team", "first", "127.0.10.3", "app"));
        await WaitForPodAsync(client);
        var token = await PutTokenAsync(client, "60");

        _host.Api.Delete<V1Pod>("team", "first");
        _host.Api.Create(KubeObjects.Pod("other", "second", "127.0.10.3", "default"));
        _host.Api.Create(KubeObjects.ServiceAccount("other", "default", KubeObjects.RoleArn("other-role")));
        await Eventually.TrueAsync(async () => (await client.GetStringAsync("/latest/meta-data/iam/security-credentials/")) == "other-role",
            TimeSpan.FromSeconds(10), "the new pod never got its role");

        using var get = new HttpRequestMessage(HttpMethod.Get, "/latest/meta-data/iam/security-credentials/app-role");
        get.Headers.Add("X-aws-ec2-metadata-token", token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(get)).StatusCode);
        Assert.NotNull(first);
    }

    [Fact]
    public async Task APodBeingDeletedKeepsItsCredentialsUntilANewPodClaimsItsIpAndItsDeleteHandsTheIpOver()
    {
        const string ip = "127.0.10.4";
        using var client = Pod(ip);
        var old = _host.Api.Create(KubeObjects.Pod("team", "leaving", ip, "app"));
        await WaitForPodAsync(client);

        // Its grace period: preStop hooks and a last flush still need credentials, over IMDSv1 and IMDSv2.
        old.Metadata.DeletionTimestamp = DateTime.UtcNow;
        _host.Api.Update(old);
        var index = _host.Service<PodIndex>();
        await Eventually.TrueAsync(() => Task.FromResult(index.Lookup(IPAddress.Parse(ip)).Pod?.Terminating == true), TimeSpan.FromSeconds(10), "the deletionTimestamp never arrived");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/latest/meta-data/iam/security-credentials/app-role")).StatusCode);
        var oldToken = await PutTokenAsync(client, "300");
        Assert.Equal(HttpStatusCode.OK, await GetWithTokenAsync(client, "/latest/meta-data/iam/security-credentials/app-role", oldToken));

        // Its IP handed to a pod of another namespace before the DELETE arrived: nobody is answered.
        _host.Api.Create(KubeObjects.ServiceAccount("other", "next", KubeObjects.RoleArn("other-role")));
        _host.Api.Create(KubeObjects.Pod("other", "arriving", ip, "next"));
        await Eventually.TrueAsync(() => Task.FromResult(index.Claimants(IPAddress.Parse(ip)).Count == 2), TimeSpan.FromSeconds(10), "the new pod never arrived");
        var refused = await client.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.DoesNotContain("AccessKeyId", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/latest/meta-data/iam/security-credentials/")).StatusCode);

        // The old pod's DELETE: the new pod is served, and the old pod's token is refused.
        _host.Api.Delete<V1Pod>("team", "leaving");
        await Eventually.TrueAsync(async () => (await client.GetStringAsync("/latest/meta-data/iam/security-credentials/")) == "other-role",
            TimeSpan.FromSeconds(10), "the new pod never got its role");
        Assert.Equal(HttpStatusCode.Unauthorized, await GetWithTokenAsync(client, "/latest/meta-data/iam/security-credentials/other-role", oldToken));
    }

    private static async Task<HttpStatusCode> GetWithTokenAsync(HttpClient client, string path, string token)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, path);
        get.Headers.Add("X-aws-ec2-metadata-token", token);
        return (await client.SendAsync(get)).StatusCode;
    }

    [Theory]
    [InlineData("127.0.10.5", ".")]
    [InlineData("127.0.10.6", "..")]
    public async Task RolesNamedDotAndDotDotAreServedByTheirExactName(string ip, string roleName)
    {
        // IAM allows both names; HttpClient would resolve the dot segment itself, so the request goes out as bytes.
        _host.Api.Create(KubeObjects.ServiceAccount("dots", "sa-" + roleName.Length, KubeObjects.RoleArn(roleName)));
        _host.Api.Create(KubeObjects.Pod("dots", "pod-" + roleName.Length, ip, "sa-" + roleName.Length));
        using (var client = Pod(ip))
        {
            await WaitForPodAsync(client);
        }

        async Task<Hardening.RawResponse> GetAsync(string target) =>
            await Hardening.RawHttp.SendAsync(ip, new IPEndPoint(IPAddress.Loopback, _host.MetadataEndpoint.Port), Hardening.RawHttp.Request("GET", target));

        var listing = await Eventually.ObserveAsync(() => GetAsync("/latest/meta-data/iam/security-credentials/"), r => r.Status == 200, TimeSpan.FromSeconds(10));
        Assert.Equal(roleName, listing.Body);
        foreach (var target in new[] { $"/latest/meta-data/iam/security-credentials/{roleName}", $"/latest/meta-data/iam/security-credentials-extended/{roleName}/" })
        {
            var response = await GetAsync(target);
            Assert.Equal(200, response.Status);
            using var json = JsonDocument.Parse(response.Body);
            Assert.Equal(KubeObjects.RoleArn(roleName), _host.Sts.Issued[json.RootElement.GetProperty("AccessKeyId").GetString()!].RoleArn);
        }

        // Only as the last segment: one further up still resolves, and leaves the role's name behind.
        Assert.Equal(404, (await GetAsync($"/latest/meta-data/iam/security-credentials/{roleName}/x")).Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    [InlineData("21601")]
    [InlineData("-5")]
    [InlineData("ten")]
    public async Task RefusesTokenRequestsWithoutAValidTtl(string? ttl)
    {
        using var client = Pod();
        using var put = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
        if (ttl is not null)
        {
            put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", ttl);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(put)).StatusCode);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "10.0.0.1")]
    [InlineData("Forwarded", "for=10.0.0.1")]
    public async Task RefusesTokenRequestsThatCameThroughAProxy(string header, string value)
    {
        using var client = Pod();
        using var put = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
        put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
        put.Headers.TryAddWithoutValidation(header, value);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(put)).StatusCode);
    }

    [Fact]
    public async Task TokenRequestsAnswerAtOnceEvenFromUnknownIps()
    {
        using var client = Pod("127.0.99.99");
        var started = DateTime.UtcNow;
        Assert.False(string.IsNullOrEmpty(await PutTokenAsync(client, "60")));
        Assert.True(DateTime.UtcNow - started < _host.Options.WaitTimeout);
    }

    [Theory]
    [InlineData("/latest/meta-data/iam/security-credentials/app-role")]
    [InlineData("/latest/meta-data/iam/security-credentials/app-role/")]
    [InlineData("/latest/meta-data/iam/security-credentials")]
    [InlineData("/latest/meta-data/iam/security-credentials/")]
    [InlineData("/latest/meta-data/iam/security-credentials-extended/app-role")]
    [InlineData("/latest/meta-data/iam/security-credentials-extended/app-role/")]
    [InlineData("/latest/meta-data/iam/security-credentials-extended")]
    [InlineData("/latest/meta-data/iam/security-credentials-extended/")]
    [InlineData("/latest/meta-data/iam/info")]
    [InlineData("/latest/meta-data/iam/info/")]
    [InlineData("/latest/meta-data/placement/region")]
    [InlineData("/latest/meta-data/placement/region/")]
    [InlineData("/latest/meta-data/placement/availability-zone")]
    [InlineData("/latest/meta-data/placement/availability-zone/")]
    [InlineData("/latest/dynamic/instance-identity/document")]
    [InlineData("/latest/dynamic/instance-identity/document/")]
    [InlineData("//latest/meta-data/iam/security-credentials/app-role")]
    [InlineData("/latest//meta-data/iam/info")]
    public async Task ServesEveryAllowedPathWithAndWithoutTrailingSlash(string path)
    {
        using var client = Pod();
        // An absolute URI, so that a leading "//" stays part of the path.
        var uri = new Uri(client.BaseAddress!.GetLeftPart(UriPartial.Authority) + path);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(uri)).StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/latest")]
    [InlineData("/latest/meta-data/")]
    [InlineData("/latest/meta-data/iam/")]
    [InlineData("/latest/user-data")]
    [InlineData("/latest/meta-data/instance-id")]
    [InlineData("/latest/meta-data/local-ipv4")]
    [InlineData("/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance")]
    [InlineData("/latest/meta-data/iam/security-credentials/someone-elses-role")]
    [InlineData("/latest/meta-data/iam/security-credentials-extended/someone-elses-role")]
    [InlineData("/latest/meta-data/iam/security-credentials-extendedx/app-role")]
    [InlineData("/latest/meta-data/iam/security-credentials/APP-ROLE")]
    [InlineData("/latest/meta-data/iam/security-credentials/app-role%2F..%2F..")]
    [InlineData("/latest/meta-data/iam/security-credentials/%2e%2e/%2e%2e/user-data")]
    [InlineData("/2009-04-04/meta-data/iam/security-credentials/app-role")]
    [InlineData("/metrics")]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Returns404ForPathsOutsideTheAllowList(string path)
    {
        using var client = Pod();
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("SecretAccessKey", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    [InlineData("OPTIONS")]
    public async Task Returns404ForOtherMethods(string method)
    {
        using var client = Pod();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task AdminEndpointsAnswerOnlyOnTheAdminPort()
    {
        using var admin = _host.AdminClient();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/readyz")).StatusCode);
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains("iam4kube_requests_total", metrics, StringComparison.Ordinal);
        Assert.Contains("iam4kube_cluster_objects{resource=\"pods\"} ", metrics, StringComparison.Ordinal);
        Assert.Matches("iam4kube_cluster_objects\\{resource=\"serviceaccounts\"\\} [1-9]", metrics);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/latest/meta-data/iam/security-credentials/")).StatusCode);
    }

    [Fact]
    public async Task AnswersNotFoundAtOnceForAServiceAccountWithoutRole()
    {
        _host.Api.Create(KubeObjects.Pod("team", "plain-1", "127.0.10.4", "plain"));
        using var client = Pod("127.0.10.4");
        await WaitForPodAsync(client);
        var response = await client.GetAsync("/latest/meta-data/iam/security-credentials/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("has no iam.amazonaws.com/roleArn annotation", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidAnnotationsGet404AndNeverReachSts()
    {
        _host.Api.Create(KubeObjects.ServiceAccount("team", "broken", "arn:aws:iam::123:role/x"));
        _host.Api.Create(KubeObjects.Pod("team", "broken-1", "127.0.10.5", "broken"));
        using var client = Pod("127.0.10.5");
        var response = await client.GetAsync("/latest/meta-data/iam/security-credentials/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("12-digit", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(_host.Sts.Calls, c => c.RoleArn.Contains(":123:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WaitsForPodThenAnswersWhenItAppears()
    {
        using var client = Pod("127.0.10.6");
        var request = client.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        await Task.Delay(300);
        Assert.False(request.IsCompleted);

        _host.Api.Create(KubeObjects.Pod("team", "late", "127.0.10.6", "app"));
        var response = await request;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task WaitsForTheServiceAccountAndItsCredentials()
    {
        _host.Api.Create(KubeObjects.Pod("late", "pod", "127.0.10.7", "late-sa"));
        using var client = Pod("127.0.10.7");
        var request = client.GetAsync("/latest/meta-data/iam/security-credentials/late-role");
        await Task.Delay(300);
        Assert.False(request.IsCompleted);

        _host.Api.Create(KubeObjects.ServiceAccount("late", "late-sa", KubeObjects.RoleArn("late-role")));
        var response = await request;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(_host.Sts.Calls, c => c.RoleSessionName == "late@late-sa");
    }

    [Fact]
    public async Task TimesOutWith404WhenNoPodEverOwnsTheIp()
    {
        using var client = Pod("127.0.10.8");
        var started = DateTime.UtcNow;
        var response = await client.GetAsync("/latest/meta-data/iam/security-credentials/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.True(DateTime.UtcNow - started >= _host.Options.WaitTimeout - TimeSpan.FromMilliseconds(100));
        Assert.Contains("no running pod has IP 127.0.10.8", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlacementComesFromThePodsOwnNode()
    {
        _host.Api.Create(KubeObjects.Node("node-us", "us-east-2", "us-east-2c"));
        _host.Api.Create(KubeObjects.Pod("team", "us-pod", "127.0.10.9", "app", node: "node-us"));
        using var client = Pod("127.0.10.9");
        Assert.Equal("us-east-2c", await client.GetStringAsync("/latest/meta-data/placement/availability-zone"));
        Assert.Equal("us-east-2", await client.GetStringAsync("/latest/meta-data/placement/region"));
        using var document = JsonDocument.Parse(await client.GetStringAsync("/latest/dynamic/instance-identity/document"));
        Assert.Equal("us-east-2", document.RootElement.GetProperty("region").GetString());
        Assert.Equal("us-east-2c", document.RootElement.GetProperty("availabilityZone").GetString());
        Assert.Equal("127.0.10.9", document.RootElement.GetProperty("privateIp").GetString());

        using var other = Pod();
        Assert.Equal("eu-central-1", await other.GetStringAsync("/latest/meta-data/placement/region"));
    }

    [Fact]
    public async Task IamInfoNamesAnInstanceProfileForTheRole()
    {
        using var client = Pod();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/latest/meta-data/iam/info"));
        var root = document.RootElement;
        Assert.Equal("Success", root.GetProperty("Code").GetString());
        Assert.Equal("arn:aws:iam::123456789012:instance-profile/app-role", root.GetProperty("InstanceProfileArn").GetString());
        Assert.Matches("^AIPA[A-Z2-7]{17}$", root.GetProperty("InstanceProfileId").GetString());
    }

    [Fact]
    public async Task CountsRequestsByRouteAndStatus()
    {
        using var client = Pod();
        await client.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        await client.GetAsync("/nope");
        using var admin = _host.AdminClient();
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains("iam4kube_requests_total{route=\"credentials\",code=\"200\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("iam4kube_requests_total{route=\"other\",code=\"404\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NeverLogsSecretsOrSessionTokens()
    {
        using var client = Pod();
        var body = await client.GetStringAsync("/latest/meta-data/iam/security-credentials/app-role");
        using var json = JsonDocument.Parse(body);
        var log = _host.LogText;
        Assert.Contains(json.RootElement.GetProperty("AccessKeyId").GetString()!, log, StringComparison.Ordinal);
        Assert.DoesNotContain(json.RootElement.GetProperty("SecretAccessKey").GetString()!, log, StringComparison.Ordinal);
        Assert.DoesNotContain(json.RootElement.GetProperty("Token").GetString()!, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogsOneLinePerRequestAtDebug()
    {
        using var client = Pod();
        await client.GetAsync("/latest/meta-data/placement/availability-zone?probe=log-line");
        Assert.Contains(_host.LogText.Split('\n'), line =>
            line.Contains("\"Path\":\"/latest/meta-data/placement/availability-zone\"", StringComparison.Ordinal)
            && line.Contains("\"SourceIp\":\"127.0.10.1\"", StringComparison.Ordinal)
            && line.Contains("\"Status\":200", StringComparison.Ordinal));
    }

    private static async Task<string> PutTokenAsync(HttpClient client, string ttl)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
        put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", ttl);
        var response = await client.SendAsync(put);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task WaitForPodAsync(HttpClient client) =>
        await client.GetAsync("/latest/meta-data/placement/region");
}
