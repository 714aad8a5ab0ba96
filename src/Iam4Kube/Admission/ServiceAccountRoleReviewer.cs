using System.Text.Json;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Admission;

/// <summary>
/// The validating webhook <c>/validate/serviceaccounts</c>: a ServiceAccount created or updated with a role
/// annotation that is malformed, or names a role that <c>--allowed-roles</c> or its namespace's rules forbid, is
/// refused with the reason kubectl shows verbatim (<see cref="RoleAdmission"/>, the checks serving makes). Defence in
/// depth: serving refuses such a role on its own, so a review missed (failurePolicy Ignore, webhook down) costs an
/// early error message, never a credential.
/// <para>
/// An UPDATE that leaves the role annotations as they were is allowed even when the role is forbidden by now (a
/// namespace rule tightened after the ServiceAccount was made), with a warning: refusing it would block every
/// unrelated edit (labels, a controller's metadata) without protecting anything, as kube-apiserver's PodSecurity
/// admission exempts updates that leave the pod spec alone.
/// </para>
/// </summary>
internal sealed class ServiceAccountRoleReviewer(RoleGuard guard) : IAdmissionReviewer
{
    public string Path => "/validate/serviceaccounts";

    public AdmissionResponse Review(AdmissionRequest request)
    {
        if (request.Kind?.Kind != "ServiceAccount" || request.Operation is not ("CREATE" or "UPDATE") || request.Object.ValueKind != JsonValueKind.Object)
        {
            return AdmissionResponse.Allow(request.Uid);
        }

        var metadata = request.Object.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        var name = new NamespacedName(
            request.Namespace ?? StringOf(metadata, "namespace") ?? "default",
            request.Name is { Length: > 0 } given ? given : StringOf(metadata, "name") ?? StringOf(metadata, "generateName") ?? "");
        var annotations = Annotations(metadata);
        var verdict = RoleAdmission.ForServiceAccount(name, annotations, guard);
        if (verdict.Allowed)
        {
            return AdmissionResponse.AllowWithWarning(request.Uid, verdict.Warning);
        }

        if (request.Operation == "UPDATE" && request.OldObject.ValueKind == JsonValueKind.Object
            && RoleAnnotations.Read(annotations) == RoleAnnotations.Read(Annotations(request.OldObject.TryGetProperty("metadata", out var old) ? old : default)))
        {
            return AdmissionResponse.AllowWithWarning(request.Uid, $"{verdict.Message}; the role annotations are unchanged, so this update is allowed, but its pods get no credentials for it");
        }

        return AdmissionResponse.Forbid(request.Uid, verdict.Message!);
    }

    private static string? StringOf(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>metadata.annotations; kube-apiserver validated the object before calling, so every value is a string.</summary>
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
}
