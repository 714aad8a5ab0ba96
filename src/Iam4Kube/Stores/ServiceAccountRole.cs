using Iam4Kube.Roles;

namespace Iam4Kube.Stores;

/// <summary>What the store keeps of a ServiceAccount: its role annotations as written and what they assign.</summary>
internal sealed record ServiceAccountRole(RoleAnnotationValues Annotations, RoleAssignment Assignment)
{
    public static ServiceAccountRole Read(NamespacedName name, IDictionary<string, string>? annotations)
    {
        var values = RoleAnnotations.Read(annotations);
        return new ServiceAccountRole(values, RoleAnnotations.Assign(name, values));
    }
}
