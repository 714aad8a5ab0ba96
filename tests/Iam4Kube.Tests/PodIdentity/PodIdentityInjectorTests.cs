using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Iam4Kube.Admission;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Tests.Admission;
using Iam4Kube.Tests.TestHost;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.PodIdentity;

/// <summary>The mutating webhook /mutate/pods over HTTPS, called as kube-apiserver calls it; its JSON Patch is applied to the pod.</summary>
public sealed class PodIdentityInjectorTests : IAsyncLifetime
{
    private const string Uri = "http://169.254.170.23/v1/credentials";
    private const string TokenFile = "/var/run/secrets/iam4kube.io/serviceaccount/token";
    private Iam4KubeTestHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.ServiceAccount("team", "app", KubeObjects.RoleArn("app-role")));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "plain"));
        await _host.StartAppAsync(o => o with { WebhookListen = new IPEndPoint(IPAddress.Loopback, 0) });
        await _host.WaitUntilReadyAsync();
        _client = await _host.WebhookClientAsync();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    private static V1Pod Pod(string serviceAccount, params V1Container[] containers)
    {
        var pod = KubeObjects.Pod("team", "", ip: null, serviceAccount);
        pod.Metadata.Name = null;
        pod.Metadata.GenerateName = "app-7d9f-";
        pod.Metadata.Uid = null;
        pod.Spec.Containers = containers.Length > 0 ? containers : [new V1Container { Name = "app", Image = "app:1" }];
        pod.Status = null;
        return pod;
    }

    /// <summary>Posts the review; returns the pod with the answer's patch applied, and the answer.</summary>
    private async Task<(V1Pod Pod, JsonNode Response)> ReviewAsync(V1Pod pod)
    {
        var uid = Guid.NewGuid().ToString();
        var response = await AdmissionReviews.PostAsync(_client, "/mutate/pods", AdmissionReviews.CreatePod(pod, uid), uid);
        Assert.True(response["allowed"]!.GetValue<bool>());
        if (response["patch"] is null)
        {
            return (pod, response);
        }

        Assert.Equal("JSONPatch", response["patchType"]!.GetValue<string>());
        var patch = JsonNode.Parse(Convert.FromBase64String(response["patch"]!.GetValue<string>()))!.AsArray();
        var patched = JsonPatcher.ApplyJsonPatch(JsonNode.Parse(KubernetesJson.Serialize(pod))!, patch);
        return (KubernetesJson.Deserialize<V1Pod>(patched.ToJsonString()), response);
    }

    private static string? Env(V1Container container, string name) => container.Env?.SingleOrDefault(e => e.Name == name)?.Value;

    [Fact]
    public async Task InjectsTheVariablesTheTokenVolumeAndItsMountIntoEveryContainerAndInitContainer()
    {
        var pod = Pod("app",
            new V1Container { Name = "app", Image = "app:1", Env = [new V1EnvVar { Name = "AWS_REGION", Value = "eu-west-1" }], VolumeMounts = [new V1VolumeMount { MountPath = "/data", Name = "data" }] },
            new V1Container { Name = "sidecar", Image = "proxy:1" });
        pod.Spec.InitContainers = [new V1Container { Name = "migrate", Image = "app:1" }];
        pod.Spec.Volumes = [new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() }];

        var (patched, _) = await ReviewAsync(pod);

        foreach (var container in patched.Spec.Containers.Concat(patched.Spec.InitContainers))
        {
            Assert.Equal(Uri, Env(container, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
            Assert.Equal(TokenFile, Env(container, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
            var mount = container.VolumeMounts.Single(m => m.Name == "iam4kube-pod-identity-token");
            Assert.Equal("/var/run/secrets/iam4kube.io/serviceaccount", mount.MountPath);
            Assert.True(mount.ReadOnlyProperty);
        }

        var app = patched.Spec.Containers[0];
        Assert.Equal("eu-west-1", Env(app, "AWS_REGION"));
        Assert.Contains(app.VolumeMounts, m => m.Name == "data");
        Assert.Equal(["data", "iam4kube-pod-identity-token"], patched.Spec.Volumes.Select(v => v.Name));
        var token = patched.Spec.Volumes[1].Projected.Sources.Single().ServiceAccountToken;
        Assert.Equal("iam4kube.io/pod-identity", token.Audience);
        Assert.Equal(86400, token.ExpirationSeconds);
        Assert.Equal("token", token.Path);
        Assert.Equal(1, _host.Service<Iam4Kube.Observability.Iam4KubeMetrics>().AdmissionReviews.WithLabels("/mutate/pods", "patched").Value);
    }

    [Fact]
    public async Task NeverOverridesWhatTheUserSetAndSkipsAContainerWithItsOwnCredentialsEndpoint()
    {
        var pod = Pod("app",
            new V1Container { Name = "custom-file", Image = "a:1", Env = [new V1EnvVar { Name = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Value = "/mine/token" }] },
            new V1Container { Name = "own-endpoint", Image = "b:1", Env = [new V1EnvVar { Name = "AWS_CONTAINER_CREDENTIALS_FULL_URI", Value = "http://127.0.0.1:9911/creds" }] });

        var (patched, _) = await ReviewAsync(pod);

        var customFile = patched.Spec.Containers[0];
        Assert.Equal("/mine/token", Env(customFile, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
        Assert.Single(customFile.Env, e => e.Name == "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        Assert.Equal(Uri, Env(customFile, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        var ownEndpoint = patched.Spec.Containers[1];
        Assert.Equal("http://127.0.0.1:9911/creds", Env(ownEndpoint, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        Assert.Null(Env(ownEndpoint, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
        Assert.Null(ownEndpoint.VolumeMounts);
    }

    [Fact]
    public async Task ReinvocationFindsEverythingInPlaceAndPatchesNothing()
    {
        var (once, _) = await ReviewAsync(Pod("app"));

        var (twice, response) = await ReviewAsync(once);

        Assert.Null(response["patch"]);
        Assert.Equal(KubernetesJson.Serialize(once), KubernetesJson.Serialize(twice));
    }

    [Fact]
    public async Task LeavesPodsWithoutARoleAndPodsThatOptedOutUntouched()
    {
        var optedOut = Pod("app");
        optedOut.Metadata.Annotations = new Dictionary<string, string> { ["iam4kube.io/pod-identity"] = "disabled" };

        var (_, noRole) = await ReviewAsync(Pod("plain"));
        var (_, optOut) = await ReviewAsync(optedOut);
        var (_, unknownAccount) = await ReviewAsync(Pod("not-created-yet"));

        Assert.Null(noRole["patch"]);
        Assert.Null(optOut["patch"]);
        Assert.Null(unknownAccount["patch"]);
    }

    [Fact]
    public async Task AnswersAMalformedReview400AndTheWebhookPathOnlyOnItsOwnPort()
    {
        var malformed = await _client.PostAsync("/mutate/pods", new StringContent("{\"apiVersion\":\"admission.k8s.io/v1\"}", Encoding.UTF8, "application/json"));
        using var plain = _host.ClientFrom("127.0.0.1");
        var onMetadataPort = await plain.PostAsync("/mutate/pods", new StringContent(AdmissionReviews.CreatePod(Pod("app"), "x"), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, onMetadataPort.StatusCode);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void APodNamingItsOwnRoleIsInjectedOnlyInCompatibilityMode(bool podAnnotations, bool injected)
    {
        var serviceAccounts = new Stores.ServiceAccountStore(new TestSupport.RecordingDemand());
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team", "plain"));
        var injector = new Iam4Kube.PodIdentity.PodIdentityInjector(serviceAccounts, "iam4kube.io/pod-identity",
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Iam4Kube.PodIdentity.PodIdentityInjector>.Instance) { PodAnnotations = podAnnotations };
        var review = System.Text.Json.JsonSerializer.Deserialize(AdmissionReviews.CreatePod(Pod("plain").WithRoleAnnotation("reader"), "uid-1"), AdmissionJsonContext.Default.AdmissionReview)!;
        var plain = System.Text.Json.JsonSerializer.Deserialize(AdmissionReviews.CreatePod(Pod("plain"), "uid-2"), AdmissionJsonContext.Default.AdmissionReview)!;

        Assert.Equal(injected, injector.Review(review.Request!).Patch is not null);
        // The default role alone is no reason: the pod named nothing.
        Assert.Null(injector.Review(plain.Request!).Patch);
    }
}
