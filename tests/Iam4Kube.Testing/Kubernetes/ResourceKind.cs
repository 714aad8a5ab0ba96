using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>One resource type the fake API server serves, described as kube-apiserver's discovery would.</summary>
internal sealed partial class ResourceKind
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

    /// <summary>A kind served as kube-apiserver serves it.</summary>
    /// <param name="group">The API group (empty: core).</param>
    /// <param name="version">The API version.</param>
    /// <param name="plural">The resource name in URLs.</param>
    /// <param name="namespaced">Whether its objects live in namespaces.</param>
    /// <param name="microTimeFields">The kind's metav1.MicroTime fields (dotted paths): kube-apiserver decodes them with
    /// Go's layout <c>2006-01-02T15:04:05.000000Z07:00</c>, so a value without exactly six fractional digits is refused
    /// (400 on create and update, 422 after a patch), where KubernetesClient's reader would accept it.</param>
    public static ResourceKind Of<T>(
        string group,
        string version,
        string plural,
        bool namespaced,
        params string[] microTimeFields)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        new(
            typeof(T),
            json =>
            {
                CheckMicroTimes(json, microTimeFields);
                return KubernetesJson.Deserialize<T>(json) ?? throw new JsonException($"the body is not a {typeof(T).Name}");
            },
            group,
            version,
            plural,
            typeof(T).GetField("KubeKind")?.GetValue(null) as string ?? typeof(T).Name,
            namespaced);

    private static void CheckMicroTimes(string json, string[] fields)
    {
        if (fields.Length == 0 || JsonNode.Parse(json) is not JsonObject root)
        {
            return;
        }

        foreach (var field in fields)
        {
            JsonNode? node = root;
            foreach (var name in field.Split('.'))
            {
                node = node is JsonObject parent ? parent[name] : null;
            }

            if (node is null)
            {
                continue;
            }

            // kube-apiserver's words (metav1.MicroTime.UnmarshalJSON through time.Parse).
            if (node.GetValueKind() != JsonValueKind.String || !MicroTime().IsMatch(node.GetValue<string>()))
            {
                throw new JsonException(
                    $"{field}: parsing time {node.ToJsonString()} as \"2006-01-02T15:04:05.000000Z07:00\": a MicroTime needs exactly six fractional digits");
            }
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex MicroTime();

    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}
