using k8s;
using k8s.Models;

namespace Iam4Kube.Watching;

/// <summary>
/// Watch calls for the tests and the bench (which compiles this file in too), on a real <c>k8s.Kubernetes</c> client,
/// under the names and parameters KubernetesClient gave them (KubernetesClient.Aot has none): each is one
/// <see cref="WatchStream"/> request decoded with KubernetesClient's own JSON (<c>KubernetesJson</c>), as a client
/// outside iam4kube reads a watch. Neither binary uses these: they watch with their own JSON metadata (iam4kube's
/// <c>Cluster/KubernetesCalls.cs</c>, ip2service's <c>EndpointSliceWatcher</c>). Only the parameters used are offered;
/// null ones are not sent. In the namespace of the watch reader, so that callers need no other <c>using</c>.
/// </summary>
internal static class WatchOperations
{
    public static IAsyncEnumerable<(WatchEventType, V1Pod)> WatchListPodForAllNamespacesAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        Read<V1Pod>(operations, "api/v1/pods", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1Pod)> WatchListNamespacedPodAsync(
        this ICoreV1Operations operations, string namespaceParameter, bool? allowWatchBookmarks = null, string? labelSelector = null,
        string? resourceVersion = null, int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        Read<V1Pod>(operations, $"api/v1/namespaces/{Uri.EscapeDataString(namespaceParameter)}/pods", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1ServiceAccount)> WatchListServiceAccountForAllNamespacesAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        Read<V1ServiceAccount>(operations, "api/v1/serviceaccounts", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1Node)> WatchListNodeAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        Read<V1Node>(operations, "api/v1/nodes", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1Namespace)> WatchListNamespaceAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        Read<V1Namespace>(operations, "api/v1/namespaces", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1EndpointSlice)> WatchListNamespacedEndpointSliceAsync(
        this IDiscoveryV1Operations operations, string namespaceParameter, bool? allowWatchBookmarks = null, string? labelSelector = null,
        string? resourceVersion = null, int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        Read<V1EndpointSlice>(operations, $"apis/discovery.k8s.io/v1/namespaces/{Uri.EscapeDataString(namespaceParameter)}/endpointslices", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    /// <summary>A watch through <paramref name="client"/> (a <c>k8s.Kubernetes</c>, which implements each operation
    /// group), on its own connection, decoded with KubernetesClient's JSON.</summary>
    public static IAsyncEnumerable<(WatchEventType, T)> Read<T>(
        object client, string path, IEnumerable<(string Name, string? Value)> query, Action<Exception>? onError, CancellationToken cancellationToken,
        int maxEventBytes = WatchStream.MaxEventBytes)
        where T : IKubernetesObject<V1ObjectMeta> =>
        WatchStream.ReadAsync(KubernetesApi.Of((Kubernetes)client), path, query, new WatchDecoder<T>(json => KubernetesJson.Deserialize<T>(json), json => KubernetesJson.Deserialize<V1Status>(json)), onError, cancellationToken, maxEventBytes);

    private static (string, string?)[] Query(bool? allowWatchBookmarks, string? labelSelector, string? resourceVersion, int? timeoutSeconds) =>
    [
        ("allowWatchBookmarks", allowWatchBookmarks is { } allow ? (allow ? "true" : "false") : null),
        ("labelSelector", labelSelector),
        ("resourceVersion", resourceVersion),
        ("timeoutSeconds", timeoutSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];
}
