using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s.Models;

namespace Iam4Kube.Watching;

/// <summary>
/// How <see cref="WatchStream"/> turns an event's object into a <typeparamref name="T"/> and an ERROR event's object
/// into a <see cref="V1Status"/>. Each binary passes its own source-generated metadata of the few types it reads
/// (iam4kube's <c>ApiJsonContext</c>, ip2service's <c>EndpointSliceJsonContext</c>), never KubernetesClient's
/// <c>k8s.KubernetesJson</c>: any use of it compiles the metadata of every Kubernetes model into a NativeAOT binary.
/// (Tests may decode with it: <c>tests/Iam4Kube.Tests/TestSupport/WatchOperations.cs</c>.)
/// </summary>
internal sealed record WatchDecoder<T>(Func<Stream, T?> Item, Func<Stream, V1Status?> Status)
{
    /// <summary>System.Text.Json with the given (source-generated) metadata.</summary>
    public static WatchDecoder<T> From(JsonTypeInfo<T> item, JsonTypeInfo<V1Status> status) =>
        new(json => JsonSerializer.Deserialize(json, item), json => JsonSerializer.Deserialize(json, status));
}
