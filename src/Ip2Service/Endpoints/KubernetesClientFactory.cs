using k8s;

namespace Ip2Service.Endpoints;

/// <summary>The Kubernetes client: from --kubeconfig when given, else in-cluster (the DaemonSet's
/// ServiceAccount), else KUBECONFIG / ~/.kube/config.</summary>
internal static class KubernetesClientFactory
{
    public static IKubernetes Create(string? kubeconfig)
    {
        var config = kubeconfig is not null
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
            : KubernetesClientConfiguration.IsInCluster()
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile();
        return new Kubernetes(config);
    }
}
