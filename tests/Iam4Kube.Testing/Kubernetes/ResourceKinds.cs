using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>The resource types the fake API server knows, with the field selectors kube-apiserver supports for each.</summary>
internal static class ResourceKinds
{
    public static readonly ResourceKind Pods = ResourceKind.Of<V1Pod>(
        string.Empty, "v1", "pods", namespaced: true,
        new Dictionary<string, Func<object, string?>>
        {
            ["spec.nodeName"] = o => ((V1Pod)o).Spec?.NodeName ?? string.Empty,
            ["spec.serviceAccountName"] = o => ((V1Pod)o).Spec?.ServiceAccountName ?? string.Empty,
            ["spec.restartPolicy"] = o => ((V1Pod)o).Spec?.RestartPolicy ?? string.Empty,
            ["spec.schedulerName"] = o => ((V1Pod)o).Spec?.SchedulerName ?? string.Empty,
            ["spec.hostNetwork"] = o => ResourceKind.Bool(((V1Pod)o).Spec?.HostNetwork),
            ["status.phase"] = o => ((V1Pod)o).Status?.Phase ?? string.Empty,
            ["status.podIP"] = o => ((V1Pod)o).Status?.PodIP ?? string.Empty,
            ["status.nominatedNodeName"] = o => ((V1Pod)o).Status?.NominatedNodeName ?? string.Empty,
        });

    public static readonly ResourceKind ServiceAccounts = ResourceKind.Of<V1ServiceAccount>(
        string.Empty, "v1", "serviceaccounts", namespaced: true);

    public static readonly ResourceKind Nodes = ResourceKind.Of<V1Node>(
        string.Empty, "v1", "nodes", namespaced: false,
        new Dictionary<string, Func<object, string?>>
        {
            ["spec.unschedulable"] = o => ResourceKind.Bool(((V1Node)o).Spec?.Unschedulable),
        });

    public static readonly ResourceKind Events = ResourceKind.Of<Corev1Event>(
        string.Empty, "v1", "events", namespaced: true,
        new Dictionary<string, Func<object, string?>>
        {
            ["involvedObject.kind"] = o => ((Corev1Event)o).InvolvedObject?.Kind ?? string.Empty,
            ["involvedObject.namespace"] = o => ((Corev1Event)o).InvolvedObject?.NamespaceProperty ?? string.Empty,
            ["involvedObject.name"] = o => ((Corev1Event)o).InvolvedObject?.Name ?? string.Empty,
            ["involvedObject.uid"] = o => ((Corev1Event)o).InvolvedObject?.Uid ?? string.Empty,
            ["involvedObject.apiVersion"] = o => ((Corev1Event)o).InvolvedObject?.ApiVersion ?? string.Empty,
            ["involvedObject.resourceVersion"] = o => ((Corev1Event)o).InvolvedObject?.ResourceVersion ?? string.Empty,
            ["involvedObject.fieldPath"] = o => ((Corev1Event)o).InvolvedObject?.FieldPath ?? string.Empty,
            ["reason"] = o => ((Corev1Event)o).Reason ?? string.Empty,
            ["reportingComponent"] = o => ((Corev1Event)o).ReportingComponent ?? string.Empty,
            ["source"] = o => ((Corev1Event)o).Source?.Component ?? string.Empty,
            ["type"] = o => ((Corev1Event)o).Type ?? string.Empty,
        });

    public static readonly ResourceKind Services = ResourceKind.Of<V1Service>(
        string.Empty, "v1", "services", namespaced: true);

    public static readonly ResourceKind Namespaces = ResourceKind.Of<V1Namespace>(
        string.Empty, "v1", "namespaces", namespaced: false,
        new Dictionary<string, Func<object, string?>>
        {
            ["status.phase"] = o => ((V1Namespace)o).Status?.Phase ?? string.Empty,
        });

    public static readonly ResourceKind ConfigMaps = ResourceKind.Of<V1ConfigMap>(
        string.Empty, "v1", "configmaps", namespaced: true);

    public static readonly ResourceKind EndpointSlices = ResourceKind.Of<V1EndpointSlice>(
        "discovery.k8s.io", "v1", "endpointslices", namespaced: true,
        new Dictionary<string, Func<object, string?>>
        {
            ["addressType"] = o => ((V1EndpointSlice)o).AddressType ?? string.Empty,
        });

    public static readonly IReadOnlyList<ResourceKind> All =
        [Pods, ServiceAccounts, Nodes, Events, Services, Namespaces, ConfigMaps, EndpointSlices];

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
