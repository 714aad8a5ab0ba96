using System.Text;
using k8s;
using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// One version of one object, immutable once stored. It is serialized once, when it is written, so that lists and
/// watches of thousands of objects only copy bytes.
/// </summary>
internal sealed class StoredObject
{
    private static readonly byte[] AddedPrefix = Encoding.UTF8.GetBytes("{\"type\":\"ADDED\",\"object\":");

    private byte[]? _addedLine;

    /// <param name="kind">The kind of <paramref name="value"/>.</param>
    /// <param name="value">A private copy that nobody else holds; this instance owns it from now on.</param>
    public StoredObject(ResourceKind kind, IKubernetesObject<V1ObjectMeta> value)
    {
        Kind = kind;
        Value = value;
        Namespace = value.Metadata.NamespaceProperty;
        Name = value.Metadata.Name;
        Key = Keys.Of(Namespace, Name);
        ResourceVersion = ResourceVersions.Parse(value.Metadata.ResourceVersion)
            ?? throw new InvalidOperationException("a stored object needs a resourceVersion");

        // Items of a list carry no kind/apiVersion on the wire; single objects and watch events do.
        value.ApiVersion = null;
        value.Kind = null;
        ListItemJson = Encoding.UTF8.GetBytes(KubernetesJson.Serialize(value));
        value.ApiVersion = kind.ApiVersion;
        value.Kind = kind.Kind;
        Json = WithTypeMeta(kind, ListItemJson);
    }

    public ResourceKind Kind { get; }

    public IKubernetesObject<V1ObjectMeta> Value { get; }

    public string? Namespace { get; }

    public string Name { get; }

    /// <summary>The etcd-like key (<c>namespace/name</c>) lists are ordered by.</summary>
    public string Key { get; }

    public long ResourceVersion { get; }

    /// <summary>The resourceVersion that created the object, carried through its updates (creation order).</summary>
    public long CreatedRevision { get; init; }

    public IDictionary<string, string>? Labels => Value.Metadata.Labels;

    /// <summary>The object as a list item: no kind and apiVersion.</summary>
    public byte[] ListItemJson { get; }

    /// <summary>The object as GET and watch events return it.</summary>
    public byte[] Json { get; }

    /// <summary>The ADDED frame a watch sends for this version: for new objects and for initial events.</summary>
    public byte[] AddedLine
    {
        get
        {
            if (_addedLine is null)
            {
                var line = new byte[AddedPrefix.Length + Json.Length + 2];
                AddedPrefix.CopyTo(line, 0);
                Json.CopyTo(line, AddedPrefix.Length);
                line[^2] = (byte)'}';
                line[^1] = (byte)'\n';
                _addedLine = line;
            }

            return _addedLine;
        }
    }

    public T ToModel<T>() => KubernetesJson.Deserialize<T>(Encoding.UTF8.GetString(Json));

    /// <summary>A private, mutable copy of the stored value, to derive the next version from.</summary>
    public IKubernetesObject<V1ObjectMeta> CopyValue() => Kind.Deserialize(Encoding.UTF8.GetString(Json));

    private static byte[] WithTypeMeta(ResourceKind kind, byte[] itemJson)
    {
        var typeMeta = Encoding.UTF8.GetBytes($"{{\"kind\":\"{kind.Kind}\",\"apiVersion\":\"{kind.ApiVersion}\"");
        var bodyIsEmpty = itemJson.Length <= 2;
        var json = new byte[typeMeta.Length + (bodyIsEmpty ? 1 : itemJson.Length)];
        typeMeta.CopyTo(json, 0);
        if (bodyIsEmpty)
        {
            json[^1] = (byte)'}';
        }
        else
        {
            // itemJson is "{...}": continue it after our own opening with a comma in place of its brace.
            json[typeMeta.Length] = (byte)',';
            itemJson.AsSpan(1).CopyTo(json.AsSpan(typeMeta.Length + 1));
        }

        return json;
    }
}
