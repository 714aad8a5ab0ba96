using Iam4Kube.Stores;
using Iam4Kube.Watching;
using k8s;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>The stores the watched kinds feed.</summary>
internal sealed record ClusterStores(PodIndex Pods, ServiceAccountStore ServiceAccounts, NodeStore Nodes, NamespaceStore? Namespaces);

/// <summary>One kind iam4kube follows (<see cref="ClusterView.Kinds"/>), whatever its object type.</summary>
internal interface IWatchedKind
{
    /// <summary>The API resource: the metric label, the log word, the RBAC resource (core group).</summary>
    string Resource { get; }

    /// <summary>The RBAC verbs iam4kube needs on it (WatchedKindsTests checks deploy/base grants them).</summary>
    IReadOnlyList<string> Verbs { get; }

    /// <summary>Where it is listed and watched, e.g. <c>api/v1/pods</c>.</summary>
    string Path { get; }

    /// <summary>Its informer over <paramref name="stores"/>; null when these options do not watch it.</summary>
    WatchedInformer? Create(KubernetesApi client, ClusterStores stores, IInformerReport report, WatchSettings settings, TimeProvider time);
}

/// <summary>A kind's running informer and the count of its store (iam4kube_cluster_objects).</summary>
internal sealed record WatchedInformer(string Resource, Func<CancellationToken, Task> RunAsync, Task Synced, Func<int> Count);

/// <summary>
/// A watched kind in one entry: its collection's path (listed in pages and watched there, see
/// <see cref="KubernetesCalls"/>; its item and list types are in <see cref="ApiJsonContext"/>), the handler that
/// applies it to its store (null: not watched), the store's count, and who may ask for a relist.
/// </summary>
internal sealed record WatchedKind<TItem, TList, TKept>(
    string Resource,
    IReadOnlyList<string> Verbs,
    string Path,
    Func<ClusterStores, IResourceHandler<TItem, TKept>?> Handler,
    Func<ClusterStores, int> Count,
    Func<ClusterStores, IRelistRequests>? Relist = null) : IWatchedKind
    where TItem : IKubernetesObject<V1ObjectMeta>
    where TList : IItems<TItem>, IMetadata<V1ListMeta>
    where TKept : class
{
    public WatchedInformer? Create(KubernetesApi client, ClusterStores stores, IInformerReport report, WatchSettings settings, TimeProvider time)
    {
        if (Handler(stores) is not { } handler)
        {
            return null;
        }

        var informer = new ResourceInformer<TItem, TList, TKept>(
            (token, limit, ct) => client.ListAsync<TList>(Path, token, limit, ct),
            (rv, timeout, onError, ct) => client.WatchAsync<TItem>(Path, rv, timeout, onError, ct),
            handler,
            report,
            settings,
            time,
            Relist?.Invoke(stores));
        return new WatchedInformer(Resource, informer.RunAsync, informer.Synced, () => Count(stores));
    }
}
