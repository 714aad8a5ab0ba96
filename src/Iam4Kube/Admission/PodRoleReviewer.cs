using System.Text.Json;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Admission;

/// <summary>
/// The validating webhook <c>/validate/pods</c> (compatibility mode, --pod-annotations, only then registered):
/// refuses to create or update a pod whose <c>iam.amazonaws.com/role</c> (or <c>external-id</c>) is malformed or
/// names a role that --allowed-roles or its namespace's rules forbid, with the message kubectl shows verbatim. The
/// same decision as serving (<see cref="RoleAdmission.ForPod"/>): the webhook is defence in depth, serving still
/// refuses on its own.
/// </summary>
internal sealed class PodRoleReviewer(PodRoleSettings settings, RoleGuard guard) : IAdmissionReviewer
{
    public string Path => "/validate/pods";

    public AdmissionResponse Review(AdmissionRequest request)
    {
        if (request.Kind?.Kind != "Pod" || request.Object.ValueKind != JsonValueKind.Object || request.Operation is not ("CREATE" or "UPDATE"))
        {
            return AdmissionResponse.Allow(request.Uid);
        }

        var metadata = request.Object.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        var ns = request.Namespace ?? AdmissionObject.StringOf(metadata, "namespace") ?? "default";
        var name = AdmissionObject.NameOf(request);
        var serviceAccount = request.Object.TryGetProperty("spec", out var spec) && AdmissionObject.StringOf(spec, "serviceAccountName") is { Length: > 0 } sa ? sa : "default";
        var verdict = RoleAdmission.ForPod($"{ns}/{name}", new NamespacedName(ns, serviceAccount), AdmissionObject.Annotations(metadata), settings, guard);
        if (verdict.Allowed)
        {
            return verdict.Warning is null ? AdmissionResponse.Allow(request.Uid) : AdmissionResponse.AllowWithWarning(request.Uid, verdict.Warning);
        }

        // An update that leaves the role annotations as they were (labels, a controller's edit, the removal of a
        // finalizer during deletion) is let through: refusing it would block the pod's life cycle and protect nothing
        // serving does not (serving refuses the role on every request). The same rule as ServiceAccountRoleReviewer.
        if (request.Operation == "UPDATE" && request.OldObject.ValueKind == JsonValueKind.Object
            && PodRoleAnnotations.Read(AdmissionObject.Annotations(metadata)) == PodRoleAnnotations.Read(AdmissionObject.OldAnnotations(request)))
        {
            return AdmissionResponse.AllowWithWarning(request.Uid, $"{verdict.Message}; the role annotations are unchanged, so this update is allowed, but the pod gets no credentials for it");
        }

        return AdmissionResponse.Forbid(request.Uid, verdict.Message!);
    }
}
