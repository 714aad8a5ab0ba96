using System.Text.Json.Serialization;

namespace Iam4Kube.Explain;

/// <summary>
/// The whole chain for one caller, as <c>GET /debug/explain</c> answers it: IP → pod → ServiceAccount → annotations →
/// policy decision → credentials state → what the metadata API would answer now. A step is null when the chain
/// stopped before it. Never a secret key or session token: the types below have no field that could hold one.
/// </summary>
internal sealed record Explanation(
    string Query,
    ExplainedPod? Pod,
    string? NoPod,
    IReadOnlyList<string>? Claimants,
    ExplainedServiceAccount? ServiceAccount,
    ExplainedDecision? Policy,
    ExplainedCredentials? Credentials,
    ExplainedAnswer Answer);

internal sealed record ExplainedPod(string Namespace, string Name, string Uid, string ServiceAccount, string? Node, IReadOnlyList<string> Ips, string? NoIp);

/// <summary>The role annotations as written; an external id is shown only as "set" (it is kept out of logs too).</summary>
internal sealed record ExplainedServiceAccount(string Namespace, string Name, bool Known, string? RoleArnAnnotation, bool ExternalIdAnnotationSet);

internal sealed record ExplainedDecision(string Outcome, string? RoleArn, string? SessionName, bool ExternalId, string? Detail);

internal sealed record ExplainedCredentials(
    string State,
    string? AccessKeyId,
    DateTimeOffset? Expiration,
    bool Servable,
    DateTimeOffset? NextRefresh,
    DateTimeOffset? LastStsAnswer,
    string? LastErrorCode,
    string? LastErrorMessage,
    bool? LastErrorPermanent);

/// <summary>What <c>GET /latest/meta-data/iam/security-credentials/ROLE</c> from the caller's IP would answer now.</summary>
internal sealed record ExplainedAnswer(string? FromIp, string Outcome, int Status, bool Final, string? Detail);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(Explanation))]
internal sealed partial class ExplainJsonContext : JsonSerializerContext;
