using System.Text.Json;
using System.Text.Json.Serialization;

namespace Iam4Kube.Admission;

/// <summary>
/// <c>admission.k8s.io/v1</c> AdmissionReview, as kube-apiserver sends it to a webhook and reads the answer: only
/// the fields a webhook uses. The object under review stays raw JSON, so each handler reads the kind it expects.
/// </summary>
internal sealed record AdmissionReview(
    [property: JsonPropertyName("apiVersion")] string? ApiVersion,
    [property: JsonPropertyName("kind")] string? Kind,
    [property: JsonPropertyName("request")] AdmissionRequest? Request,
    [property: JsonPropertyName("response")] AdmissionResponse? Response = null)
{
    public const string Version = "admission.k8s.io/v1";
}

internal sealed record AdmissionRequest(
    [property: JsonPropertyName("uid")] string Uid,
    [property: JsonPropertyName("kind")] GroupVersionKind? Kind,
    [property: JsonPropertyName("namespace")] string? Namespace,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("operation")] string? Operation,
    [property: JsonPropertyName("object")] JsonElement Object,
    [property: JsonPropertyName("dryRun")] bool? DryRun = null,
    [property: JsonPropertyName("oldObject")] JsonElement OldObject = default,
    [property: JsonPropertyName("userInfo")] AdmissionUserInfo? UserInfo = null);

/// <summary>Who sent the object (for the log line of a denial; the groups are not needed).</summary>
internal sealed record AdmissionUserInfo(
    [property: JsonPropertyName("username")] string? Username);

internal sealed record GroupVersionKind(
    [property: JsonPropertyName("group")] string? Group,
    [property: JsonPropertyName("version")] string? Version,
    [property: JsonPropertyName("kind")] string? Kind);

/// <summary>The webhook's verdict; <see cref="Patch"/> is a base64 JSON Patch (RFC 6902) when <see cref="PatchType"/> is JSONPatch.</summary>
internal sealed record AdmissionResponse(
    [property: JsonPropertyName("uid")] string Uid,
    [property: JsonPropertyName("allowed")] bool Allowed,
    [property: JsonPropertyName("patchType")] string? PatchType = null,
    [property: JsonPropertyName("patch")] string? Patch = null,
    [property: JsonPropertyName("status")] AdmissionStatus? Status = null,
    [property: JsonPropertyName("warnings")] IReadOnlyList<string>? Warnings = null)
{
    public static AdmissionResponse Allow(string uid) => new(uid, true);

    public static AdmissionResponse Deny(string uid, int code, string message) => new(uid, false, Status: new AdmissionStatus(code, message));

    /// <summary>
    /// A refusal as kube-apiserver's own admission plugins word it: 403, reason Forbidden, status Failure. kubectl
    /// prints "Error from server (Forbidden): … admission webhook "NAME" denied the request: MESSAGE".
    /// </summary>
    public static AdmissionResponse Forbid(string uid, string message) =>
        new(uid, false, Status: new AdmissionStatus(403, message) { Reason = "Forbidden", Status = "Failure" });

    public static AdmissionResponse AllowWithWarning(string uid, string? warning) =>
        new(uid, true, Warnings: warning is null ? null : [warning]);

    public static AdmissionResponse WithPatch(string uid, byte[] jsonPatch) => new(uid, true, "JSONPatch", Convert.ToBase64String(jsonPatch));
}

internal sealed record AdmissionStatus(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("message")] string Message)
{
    /// <summary>metav1.Status's status: "Failure" for a refusal (kube-apiserver fills it in when absent).</summary>
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    /// <summary>metav1.StatusReason, e.g. "Forbidden": kubectl shows it in parentheses.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdmissionReview))]
internal sealed partial class AdmissionJsonContext : JsonSerializerContext;
