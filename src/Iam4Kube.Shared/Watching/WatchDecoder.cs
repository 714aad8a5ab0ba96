using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s.Models;

namespace Iam4Kube.Watching;

/// <summary>
/// How <see cref="WatchStream"/> turns an event's object into a <typeparamref name="T"/> and an ERROR event's object
/// into a <see cref="V1Status"/>. iam4kube uses KubernetesClient's own JSON (<c>k8s.KubernetesJson</c>, its custom
/// converters included); ip2service passes its own source-generated metadata of the few types it reads, because any
/// use of <c>k8s.KubernetesJson</c> compiles the metadata of every Kubernetes model into a NativeAOT binary.
/// </summary>
internal sealed record WatchDecoder<T>(Func<Stream, T?> Item, Func<Stream, V1Status?> Status)
{
    /// <summary>KubernetesClient's JSON. Made on each call, not kept in a static field: a static initializer runs with
    /// the type's first use, and would put KubernetesClient's JSON into a binary that only calls <see cref="From"/>.</summary>
    public static WatchDecoder<T> KubernetesJson =>
        new(json => k8s.KubernetesJson.Deserialize<T>(json), json => k8s.KubernetesJson.Deserialize<V1Status>(json));

    /// <summary>System.Text.Json with the given (source-generated) metadata.</summary>
    public static WatchDecoder<T> From(JsonTypeInfo<T> item, JsonTypeInfo<V1Status> status) =>
        new(json => JsonSerializer.Deserialize(json, item), json => JsonSerializer.Deserialize(json, status));
}
