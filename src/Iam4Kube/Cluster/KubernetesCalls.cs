using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Iam4Kube.Watching;
using k8s.Autorest;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>
/// Every request iam4kube makes to the API server besides its watches, under the names of the KubernetesClient typed
/// calls they replace and as those calls sent them: the same path (parameters escaped), query parameters in the same
/// order, verb, content type (<c>application/json</c>, <c>application/merge-patch+json</c>,
/// <c>application/json-patch+json</c>, each with <c>charset=utf-8</c>), the same JSON body (<see cref="ModelJson"/>),
/// HTTP/2 asked for, and each call bounded to 100 s, body included (the typed calls' <c>HttpClientTimeout</c>). A
/// non-2xx answer throws <c>HttpOperationException</c> with the status and the Status body
/// (<see cref="KubernetesHttp"/>) and the typed calls' message, as the typed calls did. One difference, a fix: an
/// object read back with <c>metadata.managedFields</c> (any object read from a real cluster) can be written again
/// (the Secret's PUT); KubernetesClient.Aot's JSON cannot write <c>fieldsV1</c> and threw NotSupportedException. iam4kube no longer builds a <c>k8s.Kubernetes</c>: its
/// constructor alone roots KubernetesClient's JSON of every model in the NativeAOT binary (<see cref="ApiJsonContext"/>).
/// <c>KubernetesCallsTests</c> checks each call against the typed call it replaces, byte for byte.
/// </summary>
internal static class KubernetesCalls
{
    private const string Json = "application/json; charset=utf-8";
    private const string MergePatch = "application/merge-patch+json; charset=utf-8";
    private const string JsonPatch = "application/json-patch+json; charset=utf-8";

    /// <summary>One page of a list (<c>?continue=…&amp;limit=…&amp;watch=false</c>, as the typed List…Async calls asked).</summary>
    public static Task<TList> ListAsync<TList>(this KubernetesApi api, string path, string? continueToken, int limit, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Get, path, [("continue", continueToken), ("limit", limit.ToString(CultureInfo.InvariantCulture)), ("watch", "false")], null, ModelJson.Info<TList>(), cancellationToken);

    /// <summary>A watch of <paramref name="path"/> from <paramref name="resourceVersion"/>, with bookmarks (as the typed
    /// Watch…Async calls asked: <c>watch=true&amp;allowWatchBookmarks=true&amp;resourceVersion=…&amp;timeoutSeconds=…</c>).</summary>
    public static IAsyncEnumerable<(WatchEventType, TItem)> WatchAsync<TItem>(
        this KubernetesApi api, string path, string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken)
        where TItem : k8s.IKubernetesObject<V1ObjectMeta> =>
        WatchStream.ReadAsync(
            api,
            path,
            [("allowWatchBookmarks", "true"), ("resourceVersion", resourceVersion), ("timeoutSeconds", timeoutSeconds.ToString(CultureInfo.InvariantCulture))],
            WatchDecoder<TItem>.From(ModelJson.Info<TItem>(), ModelJson.Info<V1Status>()),
            onError,
            cancellationToken);

    public static Task<V1Pod> ReadNamespacedPodAsync(this KubernetesApi api, string name, string namespaceParameter, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Get, $"api/v1/namespaces/{Escape(namespaceParameter)}/pods/{Escape(name)}", [], null, ModelJson.Info<V1Pod>(), cancellationToken);

    public static Task<V1TokenReview> CreateTokenReviewAsync(this KubernetesApi api, V1TokenReview body, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Post, "apis/authentication.k8s.io/v1/tokenreviews", [], Body(body), ModelJson.Info<V1TokenReview>(), cancellationToken);

    public static Task<Corev1Event> CreateNamespacedEventAsync(this KubernetesApi api, Corev1Event body, string namespaceParameter, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Post, $"api/v1/namespaces/{Escape(namespaceParameter)}/events", [], Body(body), ModelJson.Info<Corev1Event>(), cancellationToken);

    /// <summary>A JSON merge patch (RFC 7386) of an Event.</summary>
    public static Task<Corev1Event> PatchNamespacedEventAsync(this KubernetesApi api, string mergePatch, string name, string namespaceParameter, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Patch, $"api/v1/namespaces/{Escape(namespaceParameter)}/events/{Escape(name)}", [], Content(mergePatch, MergePatch), ModelJson.Info<Corev1Event>(), cancellationToken);

    public static Task<V1Secret> ReadNamespacedSecretAsync(this KubernetesApi api, string name, string namespaceParameter, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Get, SecretPath(namespaceParameter, name), [], null, ModelJson.Info<V1Secret>(), cancellationToken);

    public static Task<V1Secret> CreateNamespacedSecretAsync(this KubernetesApi api, V1Secret body, string namespaceParameter, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Post, SecretPath(namespaceParameter, null), [], Body(body), ModelJson.Info<V1Secret>(), cancellationToken);

    /// <summary>A PUT: conditional on the body's resourceVersion (409 Conflict if the Secret changed since).</summary>
    public static Task<V1Secret> ReplaceNamespacedSecretAsync(this KubernetesApi api, V1Secret body, string name, string namespaceParameter, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Put, SecretPath(namespaceParameter, name), [], Body(body), ModelJson.Info<V1Secret>(), cancellationToken);

    public static Task<V1MutatingWebhookConfiguration> ReadMutatingWebhookConfigurationAsync(this KubernetesApi api, string name, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Get, MutatingPath(name), [], null, ModelJson.Info<V1MutatingWebhookConfiguration>(), cancellationToken);

    /// <summary>A JSON patch (RFC 6902) of a MutatingWebhookConfiguration.</summary>
    public static Task<V1MutatingWebhookConfiguration> PatchMutatingWebhookConfigurationAsync(this KubernetesApi api, string jsonPatch, string name, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Patch, MutatingPath(name), [], Content(jsonPatch, JsonPatch), ModelJson.Info<V1MutatingWebhookConfiguration>(), cancellationToken);

    public static Task<V1ValidatingWebhookConfiguration> ReadValidatingWebhookConfigurationAsync(this KubernetesApi api, string name, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Get, ValidatingPath(name), [], null, ModelJson.Info<V1ValidatingWebhookConfiguration>(), cancellationToken);

    /// <summary>A JSON patch (RFC 6902) of a ValidatingWebhookConfiguration.</summary>
    public static Task<V1ValidatingWebhookConfiguration> PatchValidatingWebhookConfigurationAsync(this KubernetesApi api, string jsonPatch, string name, CancellationToken cancellationToken) =>
        api.CallAsync(HttpMethod.Patch, ValidatingPath(name), [], Content(jsonPatch, JsonPatch), ModelJson.Info<V1ValidatingWebhookConfiguration>(), cancellationToken);

    private static string SecretPath(string namespaceParameter, string? name) =>
        name is null ? $"api/v1/namespaces/{Escape(namespaceParameter)}/secrets" : $"api/v1/namespaces/{Escape(namespaceParameter)}/secrets/{Escape(name)}";

    private static string MutatingPath(string name) => $"apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{Escape(name)}";

    private static string ValidatingPath(string name) => $"apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{Escape(name)}";

    private static string Escape(string value) => Uri.EscapeDataString(value);

    private static StringContent Body<T>(T body) => Content(JsonSerializer.Serialize(body, ModelJson.Info<T>()), Json);

    private static StringContent Content(string text, string contentType)
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private static async Task<T> CallAsync<T>(
        this KubernetesApi api, HttpMethod method, string path, IEnumerable<(string Name, string? Value)> query, HttpContent? content, JsonTypeInfo<T> answer,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(KubernetesHttp.CallTimeout);
        using (content)
        {
            HttpResponseMessage response;
            try
            {
                response = await KubernetesHttp.SendAsync(
                    api, method, KubernetesHttp.Url(api.BaseUri, path, query), content, HttpCompletionOption.ResponseHeadersRead, timeout.Token, HttpVersion.Version20);
            }
            catch (HttpOperationException e) when (e.Response is { } failed)
            {
                // The typed calls' message names the body too, and it reaches logs (WebhookCertificates, KubernetesPodEvents).
                throw new HttpOperationException($"Operation returned an invalid status code '{failed.StatusCode}', response body {failed.Content}")
                {
                    Request = e.Request,
                    Response = failed,
                };
            }

            using (response)
            {
                await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
                return await JsonSerializer.DeserializeAsync(body, answer, timeout.Token)
                    ?? throw new InvalidDataException($"{method} {path} answered null.");
            }
        }
    }
}
