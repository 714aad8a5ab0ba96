using System.Text.Json;
using Iam4Kube.Policy;
using Iam4Kube.Stores;

namespace Iam4Kube.Admission;

/// <summary>
/// The validating webhook <c>/validate/pods</c> (compatibility mode, --pod-annotations, only then registered):
/// refuses to create or update a pod whose <c>iam.amazonaws.com/role</c> (or <c>external-id</c>) is malformed or
/// names a role that --allowed-roles or its namespace's rules forbid, with the message kubectl shows verbatim. The
/// same decision as serving (<see cref="RoleAdmission.ForPod"/>): the webhook is defence in depth, serving still
/// refuses on its own.
/// </summary>
internal sealed partial class PodRoleReviewer(PodRoleSettings settings, RoleGuard guard, ILogger<PodRoleReviewer> logger) : IAdmissionReviewer
{
    public string Path => "/validate/pods";

    public AdmissionResponse Review(AdmissionRequest request)
    {
        if (request.Kind?.Kind != "Pod" || request.Object.ValueKind != JsonValueKind.Object || request.Operation is not ("CREATE" or "UPDATE"))
        {
            return AdmissionResponse.Allow(request.Uid);
        }

        var metadata = request.Object.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        var ns = request.Namespace ?? Text(metadata, "namespace") ?? "default";
        var name = request.Name is { Length: > 0 } given ? given : Text(metadata, "name") ?? Text(metadata, "generateName") + "…";
        var serviceAccount = request.Object.TryGetProperty("spec", out var spec) && Text(spec, "serviceAccountName") is { Length: > 0 } sa ? sa : "default";
        var verdict = RoleAdmission.ForPod($"{ns}/{name}", new NamespacedName(ns, serviceAccount), Annotations(metadata), settings, guard);
        if (verdict.Allowed)
        {
            return verdict.Warning is null ? AdmissionResponse.Allow(request.Uid) : new AdmissionResponse(request.Uid, true, Warnings: [verdict.Warning]);
        }

        Log.Denied(logger, request.Operation, $"{ns}/{name}", verdict.Message!);
        return AdmissionResponse.Deny(request.Uid, StatusCodes.Status403Forbidden, verdict.Message!);
    }

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The pod's string annotations (kube-apiserver only admits strings there).</summary>
    private static Dictionary<string, string>? Annotations(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object || !metadata.TryGetProperty("annotations", out var annotations) || annotations.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var annotation in annotations.EnumerateObject())
        {
            if (annotation.Value.ValueKind == JsonValueKind.String)
            {
                result[annotation.Name] = annotation.Value.GetString()!;
            }
        }

        return result;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Refused {Operation} of pod {Pod}: {Reason}")]
        public static partial void Denied(ILogger logger, string? operation, string pod, string reason);
    }
}
