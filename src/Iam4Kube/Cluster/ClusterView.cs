using Iam4Kube.Observability;
using Iam4Kube.Stores;
using Iam4Kube.Watching;
using k8s;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>
/// Keeps the local view of the cluster (pods by IP, ServiceAccounts with their roles, nodes) in step with the
/// API server: one list+watch informer per resource.
/// </summary>
internal sealed class ClusterView : BackgroundService, IClusterSource
{
    private readonly IReadOnlyList<Func<CancellationToken, Task>> _informers;
    private readonly Task _synced;

    public ClusterView(
        IKubernetes client,
        PodIndex pods,
        ServiceAccountStore serviceAccounts,
        NodeStore nodes,
        WatchSettings settings,
        ViewFreshness freshness,
        Iam4KubeMetrics metrics,
        TimeProvider time,
        ILoggerFactory loggers,
        NamespaceStore? namespaces = null)
    {
        var logger = loggers.CreateLogger<ClusterView>();
        ResourceInformer<TItem, TList, TKept> Informer<TItem, TList, TKept>(string resource, ResourceInformer<TItem, TList, TKept>.ListPage list,
            ResourceInformer<TItem, TList, TKept>.Watch watch, IResourceHandler<TItem, TKept> handler, RelistSignal? relist = null)
            where TItem : IKubernetesObject<V1ObjectMeta>
            where TList : IItems<TItem>, IMetadata<V1ListMeta>
            where TKept : class =>
            new(list, watch, handler, new InformerReport(resource, freshness, metrics, logger), settings, time, relist);

        var podInformer = Informer<V1Pod, V1PodList, PodInfo>(
            "pods",
            (token, limit, ct) => client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: token, limit: limit, cancellationToken: ct),
            (rv, timeout, onError, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
            new PodHandler(pods),
            pods.RelistRequested);
        var serviceAccountInformer = Informer<V1ServiceAccount, V1ServiceAccountList, ServiceAccountStore.Listed>(
            "serviceaccounts",
            (token, limit, ct) => client.CoreV1.ListServiceAccountForAllNamespacesAsync(continueParameter: token, limit: limit, cancellationToken: ct),
            (rv, timeout, onError, ct) => client.CoreV1.WatchListServiceAccountForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
            new ServiceAccountHandler(serviceAccounts));
        var nodeInformer = Informer<V1Node, V1NodeList, NodeInfo>(
            "nodes",
            (token, limit, ct) => client.CoreV1.ListNodeAsync(continueParameter: token, limit: limit, cancellationToken: ct),
            (rv, timeout, onError, ct) => client.CoreV1.WatchListNodeAsync(
                allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
            new NodeHandler(nodes));
        List<Func<CancellationToken, Task>> informers = [podInformer.RunAsync, serviceAccountInformer.RunAsync, nodeInformer.RunAsync, ct => ConfirmSurvivorsAsync(client, pods, ct)];
        List<Task> synced = [podInformer.Synced, serviceAccountInformer.Synced, nodeInformer.Synced];
        if (namespaces is { Watched: true })
        {
            // --namespace-restrictions: a namespace's annotations say which roles its workloads may have.
            var namespaceInformer = Informer<V1Namespace, V1NamespaceList, NamespaceStore.Listed>(
                "namespaces",
                (token, limit, ct) => client.CoreV1.ListNamespaceAsync(continueParameter: token, limit: limit, cancellationToken: ct),
                (rv, timeout, onError, ct) => client.CoreV1.WatchListNamespaceAsync(
                    allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct),
                new NamespaceHandler(namespaces));
            informers.Add(namespaceInformer.RunAsync);
            synced.Add(namespaceInformer.Synced);
        }

        _informers = informers;
        // Counted when scraped, not on every watch event.
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            metrics.Objects.WithLabels("pods").Set(pods.Count);
            metrics.Objects.WithLabels("serviceaccounts").Set(serviceAccounts.Count);
            metrics.Objects.WithLabels("nodes").Set(nodes.Count);
            if (namespaces is { Watched: true })
            {
                metrics.Objects.WithLabels("namespaces").Set(namespaces.Count);
                metrics.NamespaceRulesInvalid.Set(namespaces.InvalidCount);
            }
            foreach (var resource in freshness.Resources)
            {
                metrics.ViewAge.WithLabels(resource).Set(freshness.Age(resource)?.TotalSeconds ?? 0);
            }
        });
        _synced = Task.WhenAll(synced);
    }

    /// <summary>Completes when pods, ServiceAccounts and nodes (and namespaces, when watched) have all been listed once.</summary>
    public Task Synced => _synced;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_informers.Select(run => Task.Run(() => run(stoppingToken), stoppingToken)));

    /// <summary>Asks the API server about the last claimant of each suspect IP (a GET, not a relist).</summary>
    private static async Task ConfirmSurvivorsAsync(IKubernetes client, PodIndex pods, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var confirmation in pods.Confirmations.ReadAllAsync(stoppingToken))
            {
                var name = confirmation.Claimant.Name;
                try
                {
                    var pod = await client.CoreV1.ReadNamespacedPodAsync(name.Name, name.Namespace, cancellationToken: stoppingToken);
                    pods.Confirm(confirmation, PodInfo.FromPod(pod));
                }
                catch (k8s.Autorest.HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    pods.Confirm(confirmation, null);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The API server could not say: a full list settles it instead.
                    pods.RelistRequested.Request();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private sealed class PodHandler(PodIndex index) : IResourceHandler<V1Pod, PodInfo>
    {
        public PodInfo? Reduce(V1Pod item) => PodInfo.FromPod(item);

        public void ReplaceAll(IReadOnlyList<PodInfo> items) => index.ReplaceAll(items);

        public void Upsert(V1Pod item)
        {
            if (PodInfo.FromPod(item) is { } pod)
            {
                index.Upsert(pod);
            }
        }

        public void Remove(V1Pod item)
        {
            if (PodInfo.FromPod(item) is { } pod)
            {
                index.Remove(pod.Uid);
            }
        }
    }

    private sealed class ServiceAccountHandler(ServiceAccountStore store) : IResourceHandler<V1ServiceAccount, ServiceAccountStore.Listed>
    {
        public ServiceAccountStore.Listed? Reduce(V1ServiceAccount item) => ServiceAccountStore.Reduce(item);

        public void ReplaceAll(IReadOnlyList<ServiceAccountStore.Listed> items) => store.ReplaceAll(items);

        public void Upsert(V1ServiceAccount item) => store.Upsert(item);

        public void Remove(V1ServiceAccount item) => store.Remove(item);
    }

    private sealed class NamespaceHandler(NamespaceStore store) : IResourceHandler<V1Namespace, NamespaceStore.Listed>
    {
        public NamespaceStore.Listed? Reduce(V1Namespace item) => NamespaceStore.Reduce(item);

        public void ReplaceAll(IReadOnlyList<NamespaceStore.Listed> items) => store.ReplaceAll(items);

        public void Upsert(V1Namespace item) => store.Upsert(item);

        public void Remove(V1Namespace item) => store.Remove(item);
    }

    private sealed class NodeHandler(NodeStore store) : IResourceHandler<V1Node, NodeInfo>
    {
        public NodeInfo? Reduce(V1Node item) => NodeInfo.FromNode(item);

        public void ReplaceAll(IReadOnlyList<NodeInfo> items) => store.ReplaceAll(items);

        public void Upsert(V1Node item) => store.Upsert(item);

        public void Remove(V1Node item) => store.Remove(item);
    }
}
