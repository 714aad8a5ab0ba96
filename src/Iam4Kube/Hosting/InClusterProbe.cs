namespace Iam4Kube.Hosting;

/// <summary>
/// Tells whether iam4kube runs inside a Kubernetes pod, where fake (offline) credentials would break every pod's
/// AWS calls. Injectable so that tests can claim either answer.
/// </summary>
internal sealed class InClusterProbe(Func<string, string?> environment, Func<string, bool> fileExists)
{
    public const string ServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    public const string ServiceHostVariable = "KUBERNETES_SERVICE_HOST";

    public static InClusterProbe ForThisProcess(Func<string, string?> environment) => new(environment, File.Exists);

    /// <summary>What shows that this process runs in a pod, or null when nothing does.</summary>
    public string? Evidence()
    {
        if (fileExists(ServiceAccountTokenPath))
        {
            return $"the service account token {ServiceAccountTokenPath} exists";
        }

        return string.IsNullOrEmpty(environment(ServiceHostVariable)) ? null : $"{ServiceHostVariable} is set";
    }
}
