using Iam4Kube.Hosting;
using k8s;

namespace Iam4Kube.Cluster;

/// <summary>Finds the API server: --kubeconfig, else in-cluster, else KUBECONFIG, else ~/.kube/config.</summary>
internal static class KubernetesConfiguration
{
    public static KubernetesClientConfiguration Load(Iam4KubeOptions options)
    {
        if (options.Kubeconfig is { } path)
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        var candidate = !string.IsNullOrEmpty(fromEnvironment)
            ? fromEnvironment.Split(Path.PathSeparator)[0]
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (!File.Exists(candidate))
        {
            throw new InvalidOperationException(
                $"no Kubernetes configuration: not running in a cluster and {candidate} does not exist; pass --kubeconfig, or --cluster-file for local mode");
        }

        return KubernetesClientConfiguration.BuildConfigFromConfigFile(candidate);
    }
}
