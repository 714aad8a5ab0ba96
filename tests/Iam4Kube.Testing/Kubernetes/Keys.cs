namespace Iam4Kube.Testing.Kubernetes;

/// <summary>Object keys, ordered like etcd keys so that paginated lists come in the order kube-apiserver uses.</summary>
internal static class Keys
{
    public static string Of(string? @namespace, string name) => $"{@namespace}/{name}";
}
