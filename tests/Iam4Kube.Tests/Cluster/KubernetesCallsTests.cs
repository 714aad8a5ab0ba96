using System.Net;
using System.Text;
using System.Text.Json;
using Iam4Kube.Cluster;
using Iam4Kube.Watching;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Iam4Kube.Tests.Cluster;

/// <summary>
/// iam4kube's own API calls (<see cref="KubernetesCalls"/>) send exactly what the KubernetesClient typed calls they
/// replace sent: each call is made both ways through the same recording handler, and method, URL (path, escaping,
/// query parameters and their order), HTTP version, credentials, content type and body must be equal byte for byte;
/// the answer must decode to the same object, and an error answer must throw the same exception with the same status
/// and body.
/// </summary>
public sealed class KubernetesCallsTests : IDisposable
{
    private const string Host = "https://api.example.test:6443/";
    private readonly Recorder _typedRecorder = new();
    private readonly Recorder _ownRecorder = new();
    private readonly Kubernetes _typed;
    private readonly KubernetesApi _own;

    public KubernetesCallsTests()
    {
        var configuration = new KubernetesClientConfiguration { Host = Host, AccessToken = "the-token" };
        _typed = new Kubernetes(configuration, _typedRecorder);
        _own = new KubernetesApi(new HttpClient(_ownRecorder), new Uri(Host), Kubernetes.CreateCredentials(configuration), ownsHttpClient: true);
    }

    public void Dispose()
    {
        _typed.Dispose();
        _own.Dispose();
    }

    public static TheoryData<string, string?> Lists => new()
    {
        { "pods", null },
        { "serviceaccounts", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzLCJzdGFydCI6ImEvYiJ9+/=" },
        { "nodes", "next" },
        { "namespaces", null },
    };

    [Theory]
    [MemberData(nameof(Lists))]
    public async Task ListPagesAreRequestedAsTheTypedListCallsRequestedThem(string resource, string? continueToken)
    {
        var answer = """{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"77","continue":"c2"},"items":[{"metadata":{"name":"x","creationTimestamp":"2026-11-30T10:00:00Z"}}]}""";
        var path = ClusterViewPath(resource);

        var (typed, own) = resource switch
        {
            "pods" => await BothAsync(answer, () => _typed.CoreV1.ListPodForAllNamespacesAsync(continueParameter: continueToken, limit: 500), () => _own.ListAsync<V1PodList>(path, continueToken, 500, default)),
            "serviceaccounts" => await BothAsync(answer, () => _typed.CoreV1.ListServiceAccountForAllNamespacesAsync(continueParameter: continueToken, limit: 500), () => _own.ListAsync<V1ServiceAccountList>(path, continueToken, 500, default)),
            "nodes" => await BothAsync(answer, () => _typed.CoreV1.ListNodeAsync(continueParameter: continueToken, limit: 500), () => _own.ListAsync<V1NodeList>(path, continueToken, 500, default)),
            _ => await BothAsync(answer, () => _typed.CoreV1.ListNamespaceAsync(continueParameter: continueToken, limit: 500), () => _own.ListAsync<V1NamespaceList>(path, continueToken, 500, default)),
        };

        AssertSameRequests();
        Assert.StartsWith($"GET {Host}api/v1/{resource}?", _ownRecorder.Requests.Single().Line, StringComparison.Ordinal);
        Assert.Equal(typed, own);
    }

    [Fact]
    public async Task WatchesAreRequestedAsTheTypedWatchCallsRequestedThem()
    {
        _typedRecorder.Answer(HttpStatusCode.OK, """{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}""" + "\n");
        _ownRecorder.Answer(HttpStatusCode.OK, """{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}""" + "\n");

        var typed = await _typed.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: "41", timeoutSeconds: 290).ToListAsync();
        var own = await _own.WatchAsync<V1Pod>("api/v1/pods", "41", 290, _ => { }, default).ToListAsync();

        AssertSameRequests();
        Assert.Equal($"GET {Host}api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=41&timeoutSeconds=290", _ownRecorder.Requests.Single().Line);
        Assert.Equal(typed.Select(e => (e.Item1, e.Item2.Metadata.Name)), own.Select(e => (e.Item1, e.Item2.Metadata.Name)));
    }

    [Fact]
    public async Task APodIsReadAsReadNamespacedPodReadIt()
    {
        var (typed, own) = await BothAsync(
            ApiJsonContextTests.PodFromACluster,
            () => _typed.CoreV1.ReadNamespacedPodAsync("web-7d9f8b6c5d-x2x4z", "shop"),
            () => _own.ReadNamespacedPodAsync("web-7d9f8b6c5d-x2x4z", "shop", default));

        AssertSameRequests();
        Assert.Equal($"GET {Host}api/v1/namespaces/shop/pods/web-7d9f8b6c5d-x2x4z", _ownRecorder.Requests.Single().Line);
        Assert.Equal(typed, own);
    }

    [Fact]
    public async Task ATokenReviewIsPostedAsCreateTokenReviewPostedIt()
    {
        var review = new V1TokenReview
        {
            ApiVersion = "authentication.k8s.io/v1",
            Kind = "TokenReview",
            Spec = new V1TokenReviewSpec { Token = "header.payload.signature", Audiences = ["iam4kube"] },
        };
        var answer = """{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"token":"t"},"status":{"authenticated":true,"user":{"username":"system:serviceaccount:shop:web","uid":"u","extra":{"authentication.kubernetes.io/pod-name":["web-1"]}},"audiences":["iam4kube"]}}""";

        var (typed, own) = await BothAsync(answer, () => _typed.AuthenticationV1.CreateTokenReviewAsync(review), () => _own.CreateTokenReviewAsync(review, default), HttpStatusCode.Created);

        AssertSameRequests();
        Assert.Equal($"POST {Host}apis/authentication.k8s.io/v1/tokenreviews", _ownRecorder.Requests.Single().Line);
        Assert.Equal("application/json; charset=utf-8", _ownRecorder.Requests.Single().ContentType);
        Assert.Equal(typed, own);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_234_567)]
    [InlineData(5_000_000)]
    public async Task AnEventIsPostedWithTheBytesCreateNamespacedEventPosted(long ticks)
    {
        // As KubernetesPodEvents builds it: the times are the clock's, fractions of a second included.
        var at = new DateTime(2026, 11, 30, 10, 0, 0, DateTimeKind.Utc).AddTicks(ticks);
        var created = new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = "web-1.", NamespaceProperty = "shop" },
            InvolvedObject = new V1ObjectReference { ApiVersion = "v1", Kind = "Pod", Name = "web-1", NamespaceProperty = "shop", Uid = "4f1c" },
            Reason = "IamCredentialsServed",
            Message = "served role \"arn:aws:iam::111122223333:role/web\" <to> pod",
            Type = "Normal",
            Count = 1,
            FirstTimestamp = at,
            LastTimestamp = at,
            Source = new V1EventSource { Component = "iam4kube" },
            ReportingComponent = "iam4kube",
            ReportingInstance = "node-1",
        };
        var answer = """{"kind":"Event","apiVersion":"v1","metadata":{"name":"web-1.18c1","namespace":"shop"},"count":1}""";

        var (typed, own) = await BothAsync(answer, () => _typed.CoreV1.CreateNamespacedEventAsync(created, "shop"), () => _own.CreateNamespacedEventAsync(created, "shop", default), HttpStatusCode.Created);

        AssertSameRequests();
        Assert.Equal($"POST {Host}api/v1/namespaces/shop/events", _ownRecorder.Requests.Single().Line);
        Assert.Equal(typed, own);
    }

    [Fact]
    public async Task AnEventIsMergePatchedAsPatchNamespacedEventPatchedIt()
    {
        const string patch = """{"count":3,"lastTimestamp":"2026-11-30T10:10:00Z","message":"m"}""";
        var answer = """{"kind":"Event","apiVersion":"v1","metadata":{"name":"web-1.18c1","namespace":"shop"},"count":3}""";

        var (typed, own) = await BothAsync(
            answer,
            () => _typed.CoreV1.PatchNamespacedEventAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), "web-1.18c1", "shop"),
            () => _own.PatchNamespacedEventAsync(patch, "web-1.18c1", "shop", default));

        AssertSameRequests();
        Assert.Equal($"PATCH {Host}api/v1/namespaces/shop/events/web-1.18c1", _ownRecorder.Requests.Single().Line);
        Assert.Equal("application/merge-patch+json; charset=utf-8", _ownRecorder.Requests.Single().ContentType);
        Assert.Equal(patch, _ownRecorder.Requests.Single().Body);
        Assert.Equal(typed, own);
    }

    [Fact]
    public async Task TheWebhookSecretIsReadCreatedAndReplacedAsTheTypedCallsDidIt()
    {
        // Read back from a cluster: metadata the server wrote (timestamps, managedFields) goes back in the PUT.
        const string stored = """{"kind":"Secret","apiVersion":"v1","metadata":{"name":"iam4kube-webhook-tls","namespace":"iam4kube","uid":"9b1f","resourceVersion":"812","creationTimestamp":"2026-11-30T10:00:00Z","labels":{"app.kubernetes.io/name":"iam4kube"},"managedFields":[{"manager":"iam4kube","operation":"Update","apiVersion":"v1","time":"2026-11-30T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:ca.crt":{}},"f:type":{}}}]},"data":{"ca.crt":"LS0tLS1CRUdJTg==","tls.key":"AAEC/w=="},"type":"kubernetes.io/tls"}""";

        var (typedRead, ownRead) = await BothAsync(stored,
            () => _typed.CoreV1.ReadNamespacedSecretAsync("iam4kube-webhook-tls", "iam4kube"),
            () => _own.ReadNamespacedSecretAsync("iam4kube-webhook-tls", "iam4kube", default));
        AssertSameRequests();
        Assert.Equal(typedRead, ownRead);

        // KubernetesClient.Aot cannot write managedFields back (below): compared without them.
        var secret = KubernetesJson.Deserialize<V1Secret>(stored);
        secret.Metadata.ManagedFields = null;
        secret.Data["tls.crt"] = [1, 2, 3, 250];
        var (typedPut, ownPut) = await BothAsync(stored,
            () => _typed.CoreV1.ReplaceNamespacedSecretAsync(secret, "iam4kube-webhook-tls", "iam4kube"),
            () => _own.ReplaceNamespacedSecretAsync(secret, "iam4kube-webhook-tls", "iam4kube", default));
        AssertSameRequests();
        Assert.Equal($"PUT {Host}api/v1/namespaces/iam4kube/secrets/iam4kube-webhook-tls", _ownRecorder.Requests.Single().Line);
        Assert.Equal(typedPut, ownPut);

        secret.Metadata = new V1ObjectMeta { Name = "iam4kube-webhook-tls", NamespaceProperty = "iam4kube" };
        await BothAsync(stored,
            () => _typed.CoreV1.CreateNamespacedSecretAsync(secret, "iam4kube"),
            () => _own.CreateNamespacedSecretAsync(secret, "iam4kube", default), HttpStatusCode.Created);
        AssertSameRequests();
        Assert.Equal($"POST {Host}api/v1/namespaces/iam4kube/secrets", _ownRecorder.Requests.Single().Line);
    }

    [Fact]
    public async Task ASecretReadFromAClusterIsReplacedWithItsManagedFieldsWhereTheTypedCallThrew()
    {
        const string stored = """{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"iam4kube","resourceVersion":"812","managedFields":[{"manager":"iam4kube","operation":"Update","apiVersion":"v1","time":"2026-11-30T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:ca.crt":{}}}}]},"data":{"ca.crt":"QUJD"},"type":"kubernetes.io/tls"}""";
        _ownRecorder.Answer(HttpStatusCode.OK, stored);
        var secret = await _own.ReadNamespacedSecretAsync("s", "iam4kube", default);

        await _own.ReplaceNamespacedSecretAsync(secret, "s", "iam4kube", default);

        // The same object, managedFields and resourceVersion included (property order is the model's).
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(stored), System.Text.Json.Nodes.JsonNode.Parse(_ownRecorder.Requests[^1].Body!)), _ownRecorder.Requests[^1].Body);
        await Assert.ThrowsAsync<NotSupportedException>(() => _typed.CoreV1.ReplaceNamespacedSecretAsync(secret, "s", "iam4kube"));
    }

    [Fact]
    public async Task WebhookConfigurationsAreReadAndJsonPatchedAsTheTypedCallsDidIt()
    {
        const string mutating = """{"kind":"MutatingWebhookConfiguration","apiVersion":"admissionregistration.k8s.io/v1","metadata":{"name":"iam4kube"},"webhooks":[{"name":"pods.iam4kube.io","clientConfig":{"service":{"namespace":"iam4kube","name":"iam4kube","path":"/mutate/pods","port":443},"caBundle":"LS0tLQ=="},"admissionReviewVersions":["v1"],"sideEffects":"None","timeoutSeconds":5}]}""";
        const string validating = """{"kind":"ValidatingWebhookConfiguration","apiVersion":"admissionregistration.k8s.io/v1","metadata":{"name":"iam4kube-validating"},"webhooks":[{"name":"serviceaccounts.iam4kube.io","clientConfig":{"service":{"namespace":"iam4kube","name":"iam4kube"}},"admissionReviewVersions":["v1"],"sideEffects":"None"}]}""";
        const string patch = """[{"op":"test","path":"/webhooks/0/name","value":"pods.iam4kube.io"},{"op":"add","path":"/webhooks/0/clientConfig/caBundle","value":"QUJD"}]""";

        await ReadAndPatchAsync(mutating, "mutatingwebhookconfigurations/iam4kube",
            () => _typed.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync("iam4kube"),
            () => _own.ReadMutatingWebhookConfigurationAsync("iam4kube", default),
            () => _typed.AdmissionregistrationV1.PatchMutatingWebhookConfigurationAsync(new V1Patch(patch, V1Patch.PatchType.JsonPatch), "iam4kube"),
            () => _own.PatchMutatingWebhookConfigurationAsync(patch, "iam4kube", default));
        await ReadAndPatchAsync(validating, "validatingwebhookconfigurations/iam4kube-validating",
            () => _typed.AdmissionregistrationV1.ReadValidatingWebhookConfigurationAsync("iam4kube-validating"),
            () => _own.ReadValidatingWebhookConfigurationAsync("iam4kube-validating", default),
            () => _typed.AdmissionregistrationV1.PatchValidatingWebhookConfigurationAsync(new V1Patch(patch, V1Patch.PatchType.JsonPatch), "iam4kube-validating"),
            () => _own.PatchValidatingWebhookConfigurationAsync(patch, "iam4kube-validating", default));
    }

    // A read then a JSON patch of one configuration, each compared with the typed call.
    private async Task ReadAndPatchAsync<T>(string stored, string path, Func<Task<T>> typedRead, Func<Task<T>> ownRead, Func<Task<T>> typedPatch, Func<Task<T>> ownPatch)
        where T : notnull
    {
        var (typed, own) = await BothAsync(stored, typedRead, ownRead);
        AssertSameRequests();
        Assert.Equal($"GET {Host}apis/admissionregistration.k8s.io/v1/{path}", _ownRecorder.Requests.Single().Line);
        Assert.Equal(typed, own);

        await BothAsync(stored, typedPatch, ownPatch);
        AssertSameRequests();
        Assert.Equal($"PATCH {Host}apis/admissionregistration.k8s.io/v1/{path}", _ownRecorder.Requests.Single().Line);
        Assert.Equal("application/json-patch+json; charset=utf-8", _ownRecorder.Requests.Single().ContentType);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, "NotFound")]
    [InlineData(HttpStatusCode.Conflict, "AlreadyExists")]
    [InlineData(HttpStatusCode.Gone, "Expired")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable")]
    public async Task AnErrorAnswerThrowsHttpOperationExceptionWithTheStatusAndBodyAsTheTypedCallsDid(HttpStatusCode code, string reason)
    {
        var status = $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"secrets \"x\" {{reason}}","reason":"{{reason}}","code":{{(int)code}}}""";
        _typedRecorder.Answer(code, status);
        _ownRecorder.Answer(code, status);

        var typed = await Assert.ThrowsAsync<HttpOperationException>(() => _typed.CoreV1.ReadNamespacedSecretAsync("x", "iam4kube"));
        var own = await Assert.ThrowsAsync<HttpOperationException>(() => _own.ReadNamespacedSecretAsync("x", "iam4kube", default));

        Assert.Equal(typed.Message, own.Message);
        Assert.Equal(typed.Response.StatusCode, own.Response.StatusCode);
        Assert.Equal(code, own.Response.StatusCode);
        Assert.Equal(typed.Response.Content, own.Response.Content);
        Assert.Equal(WatchFailures.Classify(typed), WatchFailures.Classify(own));
    }

    [Fact]
    public void EachCallIsBoundedAsTheTypedCallsWere()
    {
        Assert.Equal(new KubernetesClientConfiguration().HttpClientTimeout, KubernetesHttp.CallTimeout);
    }

    private static string ClusterViewPath(string resource) => ClusterView.Kinds.Single(k => k.Resource == resource).Path;

    // Both calls against the same canned answer; their answers compared as one serializer writes them (iam4kube's:
    // KubernetesClient.Aot's cannot write managedFields' fieldsV1).
    private async Task<(string Typed, string Own)> BothAsync<T>(string answer, Func<Task<T>> typed, Func<Task<T>> own, HttpStatusCode code = HttpStatusCode.OK)
        where T : notnull
    {
        _typedRecorder.Answer(code, answer);
        _ownRecorder.Answer(code, answer);
        var typedAnswer = await typed();
        var ownAnswer = await own();
        return (JsonSerializer.Serialize(typedAnswer, ModelJson.Info<T>()), JsonSerializer.Serialize(ownAnswer, ModelJson.Info<T>()));
    }

    private void AssertSameRequests()
    {
        Assert.Equal(Request(_typedRecorder), Request(_ownRecorder));
    }

    private static RecordedCall Request(Recorder recorder) => recorder.Requests.Single();

    private sealed record RecordedCall(string Line, Version Version, string? Authorization, string? ContentType, string? Body);

    /// <summary>The end of both handler chains: records each request, answers the canned response, sends nothing.</summary>
    private sealed class Recorder : DelegatingHandler
    {
        private HttpStatusCode _code = HttpStatusCode.OK;
        private string _answer = "{}";

        public List<RecordedCall> Requests { get; } = [];

        public void Answer(HttpStatusCode code, string answer)
        {
            Requests.Clear();
            (_code, _answer) = (code, answer);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(new RecordedCall(
                $"{request.Method} {request.RequestUri!.AbsoluteUri}",
                request.Version,
                request.Headers.Authorization?.ToString(),
                request.Content?.Headers.ContentType?.ToString(),
                request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken)));
            return new HttpResponseMessage(_code) { Content = new StringContent(_answer, Encoding.UTF8, "application/json"), RequestMessage = request };
        }
    }
}
