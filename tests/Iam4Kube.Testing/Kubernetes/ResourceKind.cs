using System.Text.Json;
using k8s;
using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>One resource type the fake API server serves, described as kube-apiserver's discovery would.</summary>
internal sealed class ResourceKind
{
    private ResourceKind(
        Type clrType,
        Func<string, IKubernetesObject<V1ObjectMeta>> deserialize,
        string group,
        string version,
        string plural,
        string kind,
        bool namespaced)
    {
        ClrType = clrType;
        Deserialize = deserialize;
        Group = group;
        Version = version;
        Plural = plural;
        Kind = kind;
        Namespaced = namespaced;
        ApiVersion = group.Length == 0 ? version : $"{group}/{version}";
    }

    public Type ClrType { get; }

    /// <summary>Reads one object of this kind from its JSON.</summary>
    public Func<string, IKubernetesObject<V1ObjectMeta>> Deserialize { get; }

    public string Group { get; }

    public string Version { get; }

    public string Plural { get; }

    public string Kind { get; }

    public string ListKind => Kind + "List";

    public string ApiVersion { get; }

    public bool Namespaced { get; }

    public static ResourceKind Of<T>(
        string group,
        string version,
        string plural,
        bool namespaced)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        new(
            typeof(T),
            json => KubernetesJson.Deserialize<T>(json) ?? throw new JsonException($"the body is not a {typeof(T).Name}"),
            group,
            version,
            plural,
            typeof(T).GetField("KubeKind")?.GetValue(null) as string ?? typeof(T).Name,
            namespaced);

    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}
