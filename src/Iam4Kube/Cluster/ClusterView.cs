using Iam4Kube.Observability;
using Iam4Kube.Stores;
using Iam4Kube.Watching;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>
/// Keeps the local view of the cluster (pods by IP, ServiceAccounts with their roles, nodes) in step with the
/// API server: one list+watch informer per watched kind (<see cref="Kinds"/>).
/// </summary>
internal sealed class ClusterView : BackgroundService, IClusterSource
{
    private readonly IReadOnlyList<Func<CancellationToken, Task>> _informers;
    private readonly Task _synced;

    public ClusterView(
        KubernetesApi client,
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
        var stores = new ClusterStores(pods, serviceAccounts, nodes, namespaces);
        List<WatchedInformer> watched = [.. Kinds.Select(kind => kind.Create(client, stores, new InformerReport(kind.Resource, freshness, metrics, logger), settings, time)).OfType<WatchedInformer>()];
        _informers = [.. watched.Select(informer => informer.RunAsync), ct => ConfirmSurvivorsAsync(client, pods, ct)];
        // Counted when scraped, not on every watch event.
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var informer in watched)
            {
                metrics.Objects.WithLabels(informer.Resource).Set(informer.Count());
            }
            if (namespaces is { Watched: true })
            {
                metrics.NamespaceRulesInvalid.Set(namespaces.InvalidCount);
            }
            foreach (var resource in freshness.Resources)
            {
                metrics.ViewAge.WithLabels(resource).Set(freshness.Age(resource)?.TotalSeconds ?? 0);
            }
        });
        _synced = Task.WhenAll(watched.Select(informer => informer.Synced));
    }

    /// <summary>
    /// Every kind iam4kube lists and watches, one entry each: the resource (metric label, log word, RBAC resource),
    /// the RBAC verbs it needs, the path it is listed and watched at, the handler that applies it to its store (below), the
    /// store's count. Adding a kind is an entry here, its store in Stores/, and its RBAC line (WatchedKindsTests
    /// checks deploy/base grants every entry's verbs).
    /// </summary>
    internal static readonly IReadOnlyList<IWatchedKind> Kinds =
    [
        new WatchedKind<V1Pod, V1PodList, PodInfo>(
            "pods",
            // get: a suspect IP's survivor is confirmed with a GET (ConfirmSurvivorsAsync).
            ["get", "list", "watch"],
            "api/v1/pods",
            stores => new PodHandler(stores.Pods),
            stores => stores.Pods.Count,
            stores => stores.Pods.RelistRequested),
        new WatchedKind<V1ServiceAccount, V1ServiceAccountList, ServiceAccountStore.Listed>(
            "serviceaccounts",
            ["list", "watch"],
            "api/v1/serviceaccounts",
            stores => new ServiceAccountHandler(stores.ServiceAccounts),
            stores => stores.ServiceAccounts.Count),
        new WatchedKind<V1Node, V1NodeList, NodeInfo>(
            "nodes",
            ["list", "watch"],
            "api/v1/nodes",
            stores => new NodeHandler(stores.Nodes),
            stores => stores.Nodes.Count),
        new WatchedKind<V1Namespace, V1NamespaceList, NamespaceStore.Listed>(
            "namespaces",
            ["list", "watch"],
            "api/v1/namespaces",
            // Only with --namespace-restrictions: a namespace's annotations say which roles its workloads may have.
            stores => stores.Namespaces is { Watched: true } store ? new NamespaceHandler(store) : null,
            stores => stores.Namespaces?.Count ?? 0),
    ];

    /// <summary>Completes when pods, ServiceAccounts and nodes (and namespaces, when watched) have all been listed once.</summary>
    public Task Synced => _synced;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_informers.Select(run => Task.Run(() => run(stoppingToken), stoppingToken)));

    /// <summary>Asks the API server about the last claimant of each suspect IP (a GET, not a relist).</summary>
    private static async Task ConfirmSurvivorsAsync(KubernetesApi client, PodIndex pods, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var confirmation in pods.Confirmations.ReadAllAsync(stoppingToken))
            {
                var name = confirmation.Claimant.Name;
                try
                {
                    var pod = await client.ReadNamespacedPodAsync(name.Name, name.Namespace, stoppingToken);
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
