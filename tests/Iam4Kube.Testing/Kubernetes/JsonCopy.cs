using k8s;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>Copies Kubernetes models through their JSON form, so the server never shares an instance with a test.</summary>
internal static class JsonCopy
{
    public static T Clone<T>(T value) where T : class => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(value));
}
