namespace Iam4Kube.Roles;

/// <summary>What a ServiceAccount's annotations say about its role.</summary>
internal abstract record RoleAssignment
{
    private RoleAssignment()
    {
    }

    /// <summary>No role annotation: the pod gets no credentials.</summary>
    public sealed record None : RoleAssignment
    {
        public static readonly None Instance = new();
    }

    /// <summary>A valid role.</summary>
    public sealed record Assigned(IamRole Role) : RoleAssignment;

    /// <summary>Annotations present but unusable; never sent to STS.</summary>
    public sealed record Invalid(string Reason) : RoleAssignment;
}
