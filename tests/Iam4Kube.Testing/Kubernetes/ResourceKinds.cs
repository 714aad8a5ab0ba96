using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>The resource types the fake API server knows: those the product lists, watches or writes.</summary>
internal static class ResourceKinds
{
    public static readonly ResourceKind Pods = ResourceKind.Of<V1Pod>(string.Empty, "v1", "pods", namespaced: true);

    public static readonly ResourceKind ServiceAccounts = ResourceKind.Of<V1ServiceAccount>(
        string.Empty, "v1", "serviceaccounts", namespaced: true);

    public static readonly ResourceKind Nodes = ResourceKind.Of<V1Node>(string.Empty, "v1", "nodes", namespaced: false);

    public static readonly ResourceKind Events = ResourceKind.Of<Corev1Event>(
        string.Empty, "v1", "events", namespaced: true, "eventTime", "series.lastObservedTime");

    public static readonly ResourceKind Namespaces = ResourceKind.Of<V1Namespace>(
        string.Empty, "v1", "namespaces", namespaced: false);

    public static readonly ResourceKind EndpointSlices = ResourceKind.Of<V1EndpointSlice>(
        "discovery.k8s.io", "v1", "endpointslices", namespaced: true);

    public static readonly ResourceKind Secrets = ResourceKind.Of<V1Secret>(string.Empty, "v1", "secrets", namespaced: true);

    public static readonly ResourceKind MutatingWebhookConfigurations = ResourceKind.Of<V1MutatingWebhookConfiguration>(
        "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", namespaced: false);

    public static readonly ResourceKind ValidatingWebhookConfigurations = ResourceKind.Of<V1ValidatingWebhookConfiguration>(
        "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced: false);

    public static readonly IReadOnlyList<ResourceKind> All =
        [Pods, ServiceAccounts, Nodes, Events, Namespaces, EndpointSlices, Secrets, MutatingWebhookConfigurations, ValidatingWebhookConfigurations];

    private static readonly Dictionary<Type, ResourceKind> ByType = All.ToDictionary(k => k.ClrType);

    public static ResourceKind For(Type clrType) =>
        ByType.TryGetValue(clrType, out var kind)
            ? kind
            : throw new NotSupportedException(
                $"The fake API server does not serve {clrType.Name}; it serves {string.Join(", ", All.Select(k => k.ClrType.Name))}.");

    public static ResourceKind? Find(string group, string version, string plural) =>
        All.FirstOrDefault(k => k.Group == group && k.Version == version && k.Plural == plural);

    public static ResourceKind? FindByPlural(string plural) => All.FirstOrDefault(k => k.Plural == plural);
}
