using k8s;
using k8s.Models;

namespace Iam4Kube.Watching;

/// <summary>
/// The watch calls both binaries (and their tests) make, under the names and parameters KubernetesClient gave them
/// (KubernetesClient.Aot has none): each is one <see cref="WatchStream"/> request. Only the parameters used are
/// offered; null ones are not sent.
/// </summary>
internal static class WatchOperations
{
    public static IAsyncEnumerable<(WatchEventType, V1Pod)> WatchListPodForAllNamespacesAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        WatchStream.ReadAsync<V1Pod>(operations, "api/v1/pods", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1Pod)> WatchListNamespacedPodAsync(
        this ICoreV1Operations operations, string namespaceParameter, bool? allowWatchBookmarks = null, string? labelSelector = null,
        string? resourceVersion = null, int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        WatchStream.ReadAsync<V1Pod>(operations, $"api/v1/namespaces/{Uri.EscapeDataString(namespaceParameter)}/pods", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1ServiceAccount)> WatchListServiceAccountForAllNamespacesAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        WatchStream.ReadAsync<V1ServiceAccount>(operations, "api/v1/serviceaccounts", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1Node)> WatchListNodeAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        WatchStream.ReadAsync<V1Node>(operations, "api/v1/nodes", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1Namespace)> WatchListNamespaceAsync(
        this ICoreV1Operations operations, bool? allowWatchBookmarks = null, string? labelSelector = null, string? resourceVersion = null,
        int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        WatchStream.ReadAsync<V1Namespace>(operations, "api/v1/namespaces", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    public static IAsyncEnumerable<(WatchEventType, V1EndpointSlice)> WatchListNamespacedEndpointSliceAsync(
        this IDiscoveryV1Operations operations, string namespaceParameter, bool? allowWatchBookmarks = null, string? labelSelector = null,
        string? resourceVersion = null, int? timeoutSeconds = null, Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        WatchStream.ReadAsync<V1EndpointSlice>(operations, $"apis/discovery.k8s.io/v1/namespaces/{Uri.EscapeDataString(namespaceParameter)}/endpointslices", Query(allowWatchBookmarks, labelSelector, resourceVersion, timeoutSeconds), onError, cancellationToken);

    private static (string, string?)[] Query(bool? allowWatchBookmarks, string? labelSelector, string? resourceVersion, int? timeoutSeconds) =>
    [
        ("allowWatchBookmarks", allowWatchBookmarks is { } allow ? (allow ? "true" : "false") : null),
        ("labelSelector", labelSelector),
        ("resourceVersion", resourceVersion),
        ("timeoutSeconds", timeoutSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];
}
