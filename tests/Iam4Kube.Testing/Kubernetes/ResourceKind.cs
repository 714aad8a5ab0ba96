using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>One resource type the fake API server serves, described as kube-apiserver's discovery would.</summary>
internal sealed class ResourceKind
{
    private readonly Dictionary<string, Func<object, string?>> _fields;

    private ResourceKind(
        Type clrType,
        Func<string, IKubernetesObject<V1ObjectMeta>> deserialize,
        string group,
        string version,
        string plural,
        string kind,
        bool namespaced,
        IReadOnlyDictionary<string, Func<object, string?>>? fields = null)
    {
        ClrType = clrType;
        Deserialize = deserialize;
        Group = group;
        Version = version;
        Plural = plural;
        Kind = kind;
        Namespaced = namespaced;
        ApiVersion = group.Length == 0 ? version : $"{group}/{version}";
        _fields = new Dictionary<string, Func<object, string?>>(StringComparer.Ordinal)
        {
            ["metadata.name"] = o => Meta(o).Name,
            ["metadata.namespace"] = o => Meta(o).NamespaceProperty ?? string.Empty,
        };
        if (fields is not null)
        {
            foreach (var (name, getter) in fields)
            {
                _fields[name] = getter;
            }
        }
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

    /// <summary>The field selector labels this kind supports (kube-apiserver rejects any other with 400).</summary>
    public bool TryGetField(string field, out Func<object, string?> getter) => _fields.TryGetValue(field, out getter!);

    public static ResourceKind Of<T>(
        string group,
        string version,
        string plural,
        bool namespaced,
        IReadOnlyDictionary<string, Func<object, string?>>? fields = null)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        new(
            typeof(T),
            json => KubernetesJson.Deserialize<T>(json) ?? throw new JsonException($"the body is not a {typeof(T).Name}"),
            group,
            version,
            plural,
            typeof(T).GetField("KubeKind")?.GetValue(null) as string ?? typeof(T).Name,
            namespaced,
            fields);

    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    internal static string Bool(bool? value) => value == true ? "true" : "false";

    internal static string? Int(int? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static V1ObjectMeta Meta(object o) => ((IMetadata<V1ObjectMeta>)o).Metadata;
}
