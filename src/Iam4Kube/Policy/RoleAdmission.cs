using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Policy;

/// <summary>
/// What a validating admission webhook answers for an object that names a role: allowed, or denied with the
/// message kubectl shows verbatim ("role arn:aws:iam::111111111111:role/x is not permitted in namespace team-a by
/// iam.amazonaws.com/allowed-roles"). The same checks as serving (<see cref="RoleAnnotations"/>,
/// <see cref="RoleGuard"/>): the webhook is defence in depth, serving still refuses on its own.
/// </summary>
internal static class RoleAdmission
{
    /// <summary>A ServiceAccount being created or updated with <paramref name="annotations"/>.</summary>
    public static AdmissionVerdict ForServiceAccount(NamespacedName serviceAccount, IDictionary<string, string>? annotations, RoleGuard guard) =>
        RoleAnnotations.Parse(serviceAccount, annotations) switch
        {
            RoleAssignment.Invalid invalid => AdmissionVerdict.Deny($"ServiceAccount {serviceAccount}: {invalid.Reason}"),
            RoleAssignment.Assigned assigned => ForRole(assigned.Role.Arn, serviceAccount.Namespace, guard),
            _ => AdmissionVerdict.Allow,
        };

    /// <summary>
    /// A pod being created or updated with <paramref name="annotations"/> (compatibility mode): its own role annotation,
    /// if any, must be well-formed and permitted in its namespace. Checked whatever its ServiceAccount names (which wins
    /// while it names a role, but may stop naming one); a pod with no role annotation is allowed (--default-role is
    /// not its author's choice, and serving still checks it).
    /// </summary>
    public static AdmissionVerdict ForPod(string pod, NamespacedName serviceAccount, IDictionary<string, string>? annotations, PodRoleSettings settings, RoleGuard guard) =>
        PodRoleAnnotations.Read(annotations) is not { } values
            ? AdmissionVerdict.Allow
            : PodRoleAnnotations.Assign(serviceAccount, values, settings.BaseRoleArn, defaultRole: null) switch
            {
                RoleAssignment.Invalid invalid => AdmissionVerdict.Deny($"pod {pod}: {invalid.Reason}"),
                RoleAssignment.Assigned assigned => ForRole(assigned.Role.Arn, serviceAccount.Namespace, guard),
                _ => AdmissionVerdict.Allow,
            };

    /// <summary>A role that a workload of <paramref name="namespace"/> would have.</summary>
    public static AdmissionVerdict ForRole(RoleArn arn, string @namespace, RoleGuard guard)
    {
        var verdict = guard.Check(arn, @namespace);
        return verdict.Result switch
        {
            GuardResult.Permitted => AdmissionVerdict.Allow,
            // The Namespace was created a moment ago and is not seen yet: do not fail a `kubectl apply` of both
            // over a watch's delay. Serving refuses until the namespace's rules are known.
            GuardResult.NamespaceUnknown => AdmissionVerdict.Allow with
            {
                Warning = $"namespace {@namespace} is not known to iam4kube yet: its rules were not checked now; pods get {arn} only if they permit it",
            },
            _ => AdmissionVerdict.Deny(verdict.Message!),
        };
    }
}

/// <summary>An admission answer: <see cref="Message"/> when denied, an optional <see cref="Warning"/> when allowed.</summary>
internal sealed record AdmissionVerdict(bool Allowed, string? Message = null, string? Warning = null)
{
    public static readonly AdmissionVerdict Allow = new(true);

    public static AdmissionVerdict Deny(string message) => new(false, message);
}
