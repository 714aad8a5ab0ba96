namespace Iam4Kube.Testing.Kubernetes;

/// <summary>What one list or watch selects: a namespace (or all), optionally one name, and an optional label selector.</summary>
internal sealed class ObjectFilter(string? @namespace, string? name, LabelSelector? labels)
{
    public static readonly ObjectFilter Everything = new(null, null, null);

    public string? Namespace { get; } = @namespace;

    /// <summary>Whether anything but the namespace narrows the selection (then the remainder of a list is not counted).</summary>
    public bool HasSelectors { get; } = name is not null || labels is not null;

    public bool InNamespace(StoredObject stored) => Namespace is null || Namespace == stored.Namespace;

    public bool Matches(StoredObject stored) =>
        InNamespace(stored)
        && (name is null || name == stored.Name)
        && (labels is null || labels.Matches(stored.Labels));
}
