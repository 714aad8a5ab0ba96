using k8s.Models;

namespace Iam4Kube.Tests.Deploy;

/// <summary>The ip2service DaemonSet: as much power as iptables needs on every node, and no more.</summary>
public sealed class Ip2ServiceDaemonSetTests
{
    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void Ip2ServiceDaemonSetHasOnlyNetAdminAndNetRaw(string variant)
    {
        var pod = Manifests.Load(variant).Ip2ServiceDaemonSet.Spec.Template.Spec;
        var security = Assert.Single(pod.Containers).SecurityContext;

        Assert.Equal(["ALL"], security.Capabilities.Drop);
        Assert.Equal(["NET_ADMIN", "NET_RAW"], security.Capabilities.Add.Order(StringComparer.Ordinal));
        Assert.False(security.Privileged);
        Assert.False(security.AllowPrivilegeEscalation);
        Assert.True(security.ReadOnlyRootFilesystem);
        Assert.Equal("RuntimeDefault", (security.SeccompProfile ?? pod.SecurityContext?.SeccompProfile)?.Type);
        Assert.NotEqual(true, pod.HostPID);
        Assert.NotEqual(true, pod.HostIPC);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void RunsInTheNodesNetworkNamespaceWithClusterDns(string variant)
    {
        var pod = Manifests.Load(variant).Ip2ServiceDaemonSet.Spec.Template.Spec;

        Assert.True(pod.HostNetwork);
        Assert.Equal("ClusterFirstWithHostNet", pod.DnsPolicy);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void ToleratesEveryTaintSoThatNoNodeIsLeftWithTheRealMetadataService(string variant)
    {
        var pod = Manifests.Load(variant).Ip2ServiceDaemonSet.Spec.Template.Spec;

        Assert.Contains(pod.Tolerations, t => t.OperatorProperty == "Exists" && t.Key is null && t.Effect is null);
        Assert.True(pod.NodeSelector is null || pod.NodeSelector.Keys.All(k => k == "kubernetes.io/os"), $"{variant}: ip2service is kept off some Linux nodes");
        Assert.Null(pod.Affinity);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void LiftsTheStartupTaintFromItsOwnNode(string variant)
    {
        var container = Manifests.Load(variant).Ip2ServiceContainer;

        var flags = Flags(container.Args.Skip(1));
        Assert.Equal("iam4kube.io/router-not-ready", flags["--startup-taint"]);
        Assert.Equal("$(NODE_NAME)", flags["--node-name"]);
        var env = Assert.Single(container.Env, e => e.Name == "NODE_NAME");
        Assert.Equal("spec.nodeName", env.ValueFrom.FieldRef.FieldPath);
        Assert.Equal("pod-identity", flags["--pod-identity-port"]);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void IsScheduledBeforeOrdinaryWorkloads(string variant)
    {
        var pod = Manifests.Load(variant).Ip2ServiceDaemonSet.Spec.Template.Spec;

        Assert.Equal("system-node-critical", pod.PriorityClassName);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void FollowsThePortNamedHttpOfTheIam4KubeServiceInItsOwnNamespace(string variant)
    {
        var manifests = Manifests.Load(variant);
        var container = manifests.Ip2ServiceContainer;
        var service = manifests.Iam4KubeService;

        Assert.Equal(["/app/ip2service/ip2service"], container.Command);
        Assert.Equal("run", container.Args[0]);
        var flags = Flags(container.Args.Skip(1));
        Assert.Equal(service.Metadata.Name, flags["--service-name"]);
        Assert.Contains(service.Spec.Ports, p => p.Name == flags.GetValueOrDefault("--service-port", "http"));
        // The namespace comes from the pod itself, so an overlay that moves everything keeps them together.
        Assert.Equal("$(POD_NAMESPACE)", flags["--service-namespace"]);
        var env = Assert.Single(container.Env, e => e.Name == "POD_NAMESPACE");
        Assert.Equal("metadata.namespace", env.ValueFrom.FieldRef.FieldPath);
        Assert.Equal(service.Metadata.NamespaceProperty, manifests.Ip2ServiceDaemonSet.Metadata.NamespaceProperty);
        // Nothing redirects another address: the defaults are 169.254.169.254:80.
        Assert.False(flags.ContainsKey("--intercept-ip"));
        Assert.False(flags.ContainsKey("--intercept-port"));
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void ProbesUseReadyzAndHealthzOnItsAdminPort(string variant)
    {
        var container = Manifests.Load(variant).Ip2ServiceContainer;
        var admin = Flags(container.Args.Skip(1)).GetValueOrDefault("--admin-listen", "0.0.0.0:9091");
        var adminPort = int.Parse(admin[(admin.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(9091, adminPort);
        Assert.Equal("/readyz", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal(adminPort, Iam4KubeDeploymentTests.ContainerPort(container, container.ReadinessProbe.HttpGet.Port));
        Assert.Equal("/healthz", container.LivenessProbe.HttpGet.Path);
        Assert.Equal(adminPort, Iam4KubeDeploymentTests.ContainerPort(container, container.LivenessProbe.HttpGet.Port));
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void SharesTheNodesXtablesLockWithKubeProxy(string variant)
    {
        var pod = Manifests.Load(variant).Ip2ServiceDaemonSet.Spec.Template.Spec;

        var volume = Assert.Single(pod.Volumes, v => v.HostPath is not null);
        Assert.Equal(("/run/xtables.lock", "FileOrCreate"), (volume.HostPath.Path, volume.HostPath.Type));
        var mount = Assert.Single(pod.Containers[0].VolumeMounts, m => m.Name == volume.Name);
        Assert.Equal("/run/xtables.lock", mount.MountPath);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void RequestsCpuAndMemoryAndLimitsMemory(string variant)
    {
        var resources = Manifests.Load(variant).Ip2ServiceContainer.Resources;

        Assert.True(resources.Requests.ContainsKey("cpu"), $"{variant}: no CPU request");
        Assert.True(resources.Requests.ContainsKey("memory"), $"{variant}: no memory request");
        Assert.True(resources.Limits.ContainsKey("memory"), $"{variant}: no memory limit");
    }

    /// <summary>`--name=value` and `--name value` into a map (ip2service accepts both).</summary>
    private static Dictionary<string, string> Flags(IEnumerable<string> args)
    {
        var list = args.ToList();
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            var arg = list[i];
            Assert.StartsWith("--", arg);
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                flags.Add(arg[..equals], arg[(equals + 1)..]);
            }
            else
            {
                flags.Add(arg, list[++i]);
            }
        }

        return flags;
    }
}
