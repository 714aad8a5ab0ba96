using Iam4Kube.Roles;

namespace Iam4Kube.Stores;

/// <summary>What the store keeps of a ServiceAccount: its role annotations as written and what they assign.</summary>
internal sealed record ServiceAccountRole(RoleAnnotationValues Annotations, RoleAssignment Assignment)
{
    /// <summary>
    /// <c>iam4kube.io/imds-tokens</c> as written (<c>required</c> or <c>optional</c>); null when absent. Anything but
    /// <c>optional</c> requires tokens (<see cref="Metadata.ImdsTokenRequirement"/>): a typo must not open IMDSv1.
    /// </summary>
    public string? ImdsTokens { get; init; }

    public static ServiceAccountRole Read(NamespacedName name, IDictionary<string, string>? annotations)
    {
        var values = RoleAnnotations.Read(annotations);
        return new ServiceAccountRole(values, RoleAnnotations.Assign(name, values))
        {
            ImdsTokens = annotations is not null && annotations.TryGetValue(Metadata.ImdsTokenRequirement.AnnotationKey, out var tokens) ? tokens : null,
        };
    }
}
