using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Iam4Kube.Admission;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.Admission;

/// <summary>
/// The validating webhook /validate/pods (compatibility mode) over HTTPS, called with AdmissionReview JSON as
/// kube-apiserver sends it: a pod's own role annotation must be well-formed and permitted in its namespace.
/// </summary>
public sealed class PodRoleReviewerTests : IAsyncLifetime
{
    private Iam4KubeTestHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));
        _host.Api.Create(KubeObjects.ServiceAccount("team-a", "app"));
        await _host.StartAppAsync(o => o with
        {
            WebhookListen = new IPEndPoint(IPAddress.Loopback, 0),
            PodAnnotations = true,
            BaseRoleArn = "arn:aws:iam::123456789012:role/",
            NamespaceRestrictions = true,
        });
        await _host.WaitUntilReadyAsync();
        var secret = await _host.Api.WaitForAsync<V1Secret>(s => s.Metadata.Name == WebhookTlsSettings.SecretName);
        _client = _host.WebhookClient(Encoding.ASCII.GetString(secret.Data["ca.crt"]));
        await Eventually.TrueAsync(() => Task.FromResult(_host.Service<WebhookCertificates>().Current is not null), TimeSpan.FromSeconds(10), "no serving certificate");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    private static V1Pod Pod(string? role = null, string? externalId = null)
    {
        var pod = KubeObjects.Pod("team-a", "web", ip: null, "app");
        pod.Status = null;
        return role is null ? pod : pod.WithRoleAnnotation(role, externalId);
    }

    /// <summary>Posts the review (CREATE, or UPDATE from <paramref name="old"/>, by default a pod without annotations); returns the answer's response.</summary>
    private async Task<JsonNode> ReviewAsync(V1Pod pod, string operation = "CREATE", V1Pod? old = null)
    {
        var uid = Guid.NewGuid().ToString();
        var review = JsonNode.Parse(AdmissionReviews.CreatePod(pod, uid))!;
        if (operation == "UPDATE")
        {
            review["request"]!["operation"] = "UPDATE";
            review["request"]!["name"] = pod.Metadata.Name;
            review["request"]!["oldObject"] = JsonNode.Parse(KubernetesJson.Serialize(old ?? Pod()));
            review["request"]!["options"] = new JsonObject { ["kind"] = "UpdateOptions", ["apiVersion"] = "meta.k8s.io/v1" };
        }

        var answer = await _client.PostAsync("/validate/pods", new StringContent(review.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal("AdmissionReview", body["kind"]!.GetValue<string>());
        var response = body["response"]!;
        Assert.Equal(uid, response["uid"]!.GetValue<string>());
        Assert.Null(response["patch"]);
        return response;
    }

    [Fact]
    public async Task APermittedRoleIsAllowed()
    {
        var response = await ReviewAsync(Pod("reader"));

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["status"]);
    }

    [Theory]
    [InlineData("CREATE")]
    [InlineData("UPDATE")]
    public async Task AForbiddenRoleIsDeniedWithTheMessageKubectlShows(string operation)
    {
        var response = await ReviewAsync(Pod("writer"), operation);

        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.Equal(403, response["status"]!["code"]!.GetValue<int>());
        Assert.Equal("role arn:aws:iam::123456789012:role/writer is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles",
            response["status"]!["message"]!.GetValue<string>());
        Assert.Equal("Forbidden", response["status"]!["reason"]!.GetValue<string>());
        Assert.Contains(_host.LogText.Split('\n'), line => line.Contains("Denied", StringComparison.Ordinal) && line.Contains(operation, StringComparison.Ordinal)
            && line.Contains("\"NamespaceName\":\"team-a\"", StringComparison.Ordinal) && line.Contains("\"Name\":\"web\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUpdateThatKeepsAForbiddenRoleIsAllowedWithAWarningSoThePodsLifeCycleIsNotBlocked()
    {
        // E.g. a controller removing a finalizer after the namespace's rules were tightened: serving refuses the role anyway.
        var pod = Pod("writer");
        var response = await ReviewAsync(pod, "UPDATE", old: Pod("writer"));

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Contains("is not permitted in namespace team-a", response["warnings"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad name", null, "pod team-a/web: annotation iam.amazonaws.com/role: 'bad name' under --base-role-arn arn:aws:iam::123456789012:role/ is not a valid role: the role ARN contains white space")]
    [InlineData("arn:aws:iam::123:role/reader", null, "pod team-a/web: annotation iam.amazonaws.com/role: '123' is not a 12-digit AWS account id")]
    [InlineData("reader", "!", "pod team-a/web: annotation iam.amazonaws.com/external-id: must be 2-1224 characters, is 1")]
    public async Task AMalformedAnnotationIsDeniedSayingWhatIsWrong(string role, string? externalId, string message)
    {
        var response = await ReviewAsync(Pod(role, externalId));

        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.Equal(message, response["status"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task APodWithoutRoleAnnotationIsAllowed()
    {
        var plain = await ReviewAsync(Pod());
        var unrelated = Pod();
        unrelated.Metadata.Annotations = new Dictionary<string, string> { ["example.com/x"] = "y" };

        Assert.True(plain["allowed"]!.GetValue<bool>());
        Assert.True((await ReviewAsync(unrelated))["allowed"]!.GetValue<bool>());
    }

    [Fact]
    public async Task WithoutCompatibilityModeThePathIsNotRegistered()
    {
        await using var other = await Iam4KubeTestHost.StartAsync(o => o with { WebhookListen = new IPEndPoint(IPAddress.Loopback, 0) });
        await other.WaitUntilReadyAsync();

        Assert.DoesNotContain(other.App.Services.GetServices<IAdmissionReviewer>(), r => r.Path == "/validate/pods");
        Assert.Contains(_host.App.Services.GetServices<IAdmissionReviewer>(), r => r.Path == "/validate/pods");
    }
}
