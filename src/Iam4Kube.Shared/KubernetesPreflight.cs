using k8s;
using k8s.Exceptions;

namespace Iam4Kube.Shared;

/// <summary>
/// Finds the API server the way the programs will (--kubeconfig, else in-cluster config, else KUBECONFIG, else
/// ~/.kube/config) before the host is built, so that a missing or broken configuration is one line naming what
/// fixes it, not a stack trace from a DI factory.
/// </summary>
internal static class KubernetesPreflight
{
    /// <summary>The configuration to use, or the one-line problem.</summary>
    public static (KubernetesClientConfiguration? Configuration, string? Problem) Load(string? kubeconfig, Func<string, string?> environment, string localModeHint)
    {
        string path;
        string source;
        if (kubeconfig is not null)
        {
            path = kubeconfig;
            source = "--kubeconfig";
        }
        else if (KubernetesClientConfiguration.IsInCluster())
        {
            return Try(KubernetesClientConfiguration.InClusterConfig, "the in-cluster configuration (service account token, KUBERNETES_SERVICE_HOST)");
        }
        else if (environment("KUBECONFIG") is { Length: > 0 } fromEnvironment)
        {
            path = fromEnvironment.Split(Path.PathSeparator)[0];
            source = "KUBECONFIG";
        }
        else
        {
            path = Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
            if (!File.Exists(path))
            {
                return (null, $"no Kubernetes configuration: not in a cluster, KUBECONFIG is not set and {path} does not exist; "
                    + $"give --kubeconfig PATH or set KUBECONFIG{localModeHint}");
            }

            source = path;
        }

        return !File.Exists(path)
            ? (null, $"{source} {path}: no such file")
            : Try(() => KubernetesClientConfiguration.BuildConfigFromConfigFile(path), $"{source} {path}");
    }

    private static (KubernetesClientConfiguration?, string?) Try(Func<KubernetesClientConfiguration> load, string what)
    {
        try
        {
            return (load(), null);
        }
        catch (Exception e) when (e is KubeConfigException or IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException or ArgumentException or NullReferenceException)
        {
            // The client's messages are one line; a broken file can also surface as a YAML or argument error.
            return (null, $"{what} cannot be used: {e.Message.ReplaceLineEndings(" ")}");
        }
    }
}
