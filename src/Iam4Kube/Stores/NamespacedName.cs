namespace Iam4Kube.Stores;

/// <summary>A namespaced Kubernetes object name, e.g. a ServiceAccount.</summary>
internal readonly record struct NamespacedName(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}
