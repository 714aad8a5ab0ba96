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
            request.Namespace ?? AdmissionObject.StringOf(metadata, "namespace") ?? "default",
            AdmissionObject.NameOf(request));
        var annotations = AdmissionObject.Annotations(metadata);
        var verdict = RoleAdmission.ForServiceAccount(name, annotations, guard);
        if (verdict.Allowed)
        {
            return AdmissionResponse.AllowWithWarning(request.Uid, verdict.Warning);
        }

        if (request.Operation == "UPDATE" && request.OldObject.ValueKind == JsonValueKind.Object
            && RoleAnnotations.Read(annotations) == RoleAnnotations.Read(AdmissionObject.OldAnnotations(request)))
        {
            return AdmissionResponse.AllowWithWarning(request.Uid, $"{verdict.Message}; the role annotations are unchanged, so this update is allowed, but its pods get no credentials for it");
        }

        return AdmissionResponse.Forbid(request.Uid, verdict.Message!);
    }
}
