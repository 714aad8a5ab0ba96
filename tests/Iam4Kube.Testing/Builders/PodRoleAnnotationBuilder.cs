using k8s.Models;

namespace Iam4Kube.Testing.Builders;

/// <summary>kube2iam/kiam-style pod annotations (iam4kube's compatibility mode, --pod-annotations).</summary>
public static class PodRoleAnnotationBuilder
{
    public const string RoleAnnotation = "iam.amazonaws.com/role";
    public const string ExternalIdAnnotation = "iam.amazonaws.com/external-id";

    /// <summary>The pod with <c>iam.amazonaws.com/role</c> (and <c>external-id</c> when given) set.</summary>
    public static V1Pod WithRoleAnnotation(this V1Pod pod, string role, string? externalId = null)
    {
        pod.Metadata.Annotations ??= new Dictionary<string, string>();
        pod.Metadata.Annotations[RoleAnnotation] = role;
        if (externalId is not null)
        {
            pod.Metadata.Annotations[ExternalIdAnnotation] = externalId;
        }

        return pod;
    }
}
