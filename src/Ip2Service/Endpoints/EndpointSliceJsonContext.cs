using System.Text.Json.Serialization;
using k8s.Models;

namespace Ip2Service.Endpoints;

/// <summary>
/// System.Text.Json's source-generated metadata of exactly what ip2service reads from the API server: EndpointSlice
/// lists and watch events, and the Status of an error. KubernetesClient's own JSON (<c>k8s.KubernetesJson</c>, used
/// by its typed calls) is not used: one use of it compiles the metadata of every Kubernetes model (~700 types) into
/// the NativeAOT binary, which was most of ip2service's idle memory (docs/benchmarks.md, "Issue 15: ip2service
/// footprint, part 2"). These types need none of KubernetesClient's custom converters (no IntOrString, no quantity;
/// its timestamps are RFC 3339, which System.Text.Json reads as they are).
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(V1EndpointSliceList))]
[JsonSerializable(typeof(V1EndpointSlice))]
[JsonSerializable(typeof(V1Status))]
internal sealed partial class EndpointSliceJsonContext : JsonSerializerContext;
