namespace Iam4Kube.Roles;

/// <summary>A ServiceAccount's role annotations exactly as written (null when absent).</summary>
internal sealed record RoleAnnotationValues(string? RoleArn, string? ExternalId, string? SessionDuration = null)
{
    public static readonly RoleAnnotationValues Absent = new(null, null, null);
}
