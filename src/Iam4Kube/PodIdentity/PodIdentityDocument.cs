using System.Text.Json.Serialization;

namespace Iam4Kube.PodIdentity;

/// <summary>
/// The body of EKS Pod Identity's <c>GET /v1/credentials</c>, fields in the agent's order; <c>Expiration</c> is RFC
/// 3339 (UTC, seconds). The container credential providers of the SDKs read these names.
/// </summary>
internal sealed record PodIdentityDocument(string AccessKeyId, string SecretAccessKey, string Token, string AccountId, string Expiration);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PodIdentityDocument))]
internal sealed partial class PodIdentityJsonContext : JsonSerializerContext;
