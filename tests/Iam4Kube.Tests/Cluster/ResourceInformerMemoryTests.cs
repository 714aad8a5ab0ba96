using System.Text;
using Iam4Kube.Cluster;
using Iam4Kube.Observability;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Tests.TestSupport;
using Iam4Kube.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Iam4Kube.Tests.Cluster;

/// <summary>
/// What a full list of pods costs while it is in flight, for the memory budget in docs/operations.md ("Memory and
/// connections"): the informer must hold what the index keeps of every listed pod plus one decoded page, not every
/// decoded pod until the list is complete (a ~5 KB pod decodes to ~15 KiB: 1.5 GiB for 100,000 pods).
/// </summary>
[Collection(MemoryMeasurements.Name)]
public sealed class ResourceInformerMemoryTests(ITestOutputHelper output)
{
    private const int Pods = 20_000;

    /// <summary>What the index may keep per pod (PodIndexMemoryTests measures ≤ 1,280 B allocated while replacing).</summary>
    private const long KeptBytesPerPod = 1_536;

    /// <summary>
    /// One decoded page of 500 realistic pods (~8 MiB), its JSON on both sides of the socket, and whatever the
    /// test host and the fake API server hold for a moment on a loaded machine.
    /// </summary>
    private const long PageAndNoiseBytes = 48L << 20;

    [Fact]
    public async Task ARelistHoldsWhatTheIndexKeepsOfEachPodPlusOnePageNotEveryDecodedPod()
    {
        await using var api = new FakeKubernetesApiServer();
        await api.StartAsync();
        for (var i = 0; i < Pods; i++)
        {
            api.Create(RealisticPod(i));
        }

        var jsonBytes = Encoding.UTF8.GetByteCount(KubernetesJson.Serialize(RealisticPod(0)));
        Assert.InRange(jsonBytes, 4_500, 6_000);

        // Each page answers after a pause, so the sampler below sees the list while it is being built, page by page.
        api.Latency = TimeSpan.FromMilliseconds(50);
        using var pods = new PodIndex();
        var freshness = new ViewFreshness(TimeProvider.System, TimeSpan.FromMinutes(1), NullLogger<ViewFreshness>.Instance);
        using var connections = new FakeApiConnections(api);
        var view = new ClusterView(
            connections.Connect(), pods, new ServiceAccountStore(new RecordingDemand()), new NodeStore(), new WatchSettings(), freshness,
            new Iam4KubeMetrics(), TimeProvider.System, NullLoggerFactory.Instance);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        await view.StartAsync(CancellationToken.None);
        try
        {
            // Live memory (after a full collection) sampled until the list is applied: the peak a relist needs.
            var peak = baseline;
            var samples = 0;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (!view.Synced.IsCompleted && DateTime.UtcNow < deadline)
            {
                // One blocking full collection, not GetTotalMemory(true)'s loop: each pauses the informer too.
                GC.Collect();
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false));
                samples++;
                await Task.WhenAny(view.Synced, Task.Delay(200));
            }

            await view.Synced.WaitAsync(TimeSpan.FromSeconds(10));
            var grew = peak - baseline;
            var budget = Pods * KeptBytesPerPod + PageAndNoiseBytes;
            output.WriteLine(
                $"{Pods:N0} pods of {jsonBytes:N0} B JSON: live memory grew by at most {grew >> 20} MiB ({grew / Pods:N0} B per pod) " +
                $"while listing, {samples} samples; budget {budget >> 20} MiB");
            Assert.Equal(Pods, pods.Count);
            // At 40 pages of at least 50 ms each, a sampler that saw the list only once or twice proves nothing.
            Assert.True(samples >= 5, $"only {samples} samples while listing");
            Assert.True(grew < budget, $"live memory grew by {grew >> 20} MiB while listing {Pods:N0} pods (budget {budget >> 20} MiB)");
        }
        finally
        {
            await view.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// A pod as a Deployment on EKS leaves it: labels, annotations (kubectl's last-applied configuration among them),
    /// an owner, three containers with env, resources, probes and mounts, volumes and a full status: ~5 KB of JSON.
    /// </summary>
    private static V1Pod RealisticPod(int i)
    {
        var app = $"service-{i % 5_000:D4}";
        var name = $"{app}-7d9f8b6c5d-{i:x5}";
        var ns = $"team-{i % 200:D3}";
        var ip = $"10.{(byte)(i >> 16)}.{(byte)(i >> 8)}.{(byte)i}";
        var node = $"ip-10-0-{i / 250 % 256}-{i % 250}.eu-west-1.compute.internal";
        V1Container Container(string container) => new()
        {
            Name = container,
            Image = $"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{app}/{container}:v1.{i % 40}.{i % 7}",
            Ports = [new V1ContainerPort { ContainerPort = 8080, Name = "http", Protocol = "TCP" }],
            Env = [.. Enumerable.Range(0, 6).Select(e => new V1EnvVar { Name = $"SETTING_{e}_OF_{container.ToUpperInvariant()}", Value = $"value-{e}-{i}" })],
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("128Mi") },
                Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("256Mi") },
            },
            ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = "http" }, PeriodSeconds = 10 },
            LivenessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/livez", Port = "http" }, PeriodSeconds = 10 },
            VolumeMounts =
            [
                new V1VolumeMount { Name = "config", MountPath = "/etc/app" },
                new V1VolumeMount { Name = "kube-api-access", MountPath = "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnlyProperty = true },
            ],
            TerminationMessagePath = "/dev/termination-log",
            ImagePullPolicy = "IfNotPresent",
        };
        string[] containers = ["app", "sidecar", "log-shipper"];
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                NamespaceProperty = ns,
                Name = name,
                Uid = Guid.NewGuid().ToString(),
                GenerateName = $"{app}-7d9f8b6c5d-",
                Labels = new Dictionary<string, string>
                {
                    ["app.kubernetes.io/name"] = app,
                    ["app.kubernetes.io/instance"] = $"{app}-prod",
                    ["app.kubernetes.io/version"] = $"1.{i % 40}",
                    ["app.kubernetes.io/part-of"] = ns,
                    ["pod-template-hash"] = "7d9f8b6c5d",
                    ["team"] = ns,
                },
                Annotations = new Dictionary<string, string>
                {
                    ["kubectl.kubernetes.io/restartedAt"] = "2026-11-02T10:15:00Z",
                    ["prometheus.io/scrape"] = "true",
                    ["prometheus.io/port"] = "8080",
                    ["kubectl.kubernetes.io/last-applied-configuration"] = new string('x', 90),
                    // A cluster migrating from kube2iam: the two annotations the index keeps (--pod-annotations).
                    ["iam.amazonaws.com/role"] = $"{ns}-app",
                    ["iam.amazonaws.com/external-id"] = $"{ns}-external-id",
                },
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = $"{app}-7d9f8b6c5d", Uid = Guid.NewGuid().ToString(),
                        Controller = true, BlockOwnerDeletion = true,
                    },
                ],
            },
            Spec = new V1PodSpec
            {
                ServiceAccountName = app,
                NodeName = node,
                Containers = [.. containers.Select(Container)],
                Volumes =
                [
                    new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = $"{app}-config" } },
                    new V1Volume
                    {
                        Name = "kube-api-access",
                        Projected = new V1ProjectedVolumeSource
                        {
                            Sources =
                            [
                                new V1VolumeProjection { ServiceAccountToken = new V1ServiceAccountTokenProjection { Path = "token", ExpirationSeconds = 3607 } },
                                new V1VolumeProjection { ConfigMap = new V1ConfigMapProjection { Name = "kube-root-ca.crt", Items = [new V1KeyToPath { Key = "ca.crt", Path = "ca.crt" }] } },
                            ],
                        },
                    },
                ],
                RestartPolicy = "Always",
                DnsPolicy = "ClusterFirst",
                SchedulerName = "default-scheduler",
                TerminationGracePeriodSeconds = 30,
            },
            Status = new V1PodStatus
            {
                Phase = "Running",
                HostIP = "10.0.1.17",
                PodIP = ip,
                PodIPs = [new V1PodIP { Ip = ip }],
                QosClass = "Burstable",
                Conditions =
                [
                    .. new[] { "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled" }
                        .Select(type => new V1PodCondition { Type = type, Status = "True" }),
                ],
                ContainerStatuses =
                [
                    .. containers.Select(container => new V1ContainerStatus
                    {
                        Name = container,
                        Ready = true,
                        Started = true,
                        Image = $"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{app}/{container}:v1.{i % 40}.{i % 7}",
                        ImageID = $"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{app}/{container}@sha256:{new string('a', 64)}",
                        ContainerID = $"containerd://{new string('b', 64)}",
                    }),
                ],
            },
        };
    }
}

/// <summary>Tests that measure the process's memory run alone, so that no other test's allocations are counted.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurements
{
    public const string Name = "memory measurements";
}
