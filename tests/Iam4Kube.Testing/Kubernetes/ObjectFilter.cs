namespace Iam4Kube.Testing.Kubernetes;

/// <summary>What one list or watch selects: a namespace (or all) and optional label and field selectors.</summary>
internal sealed class ObjectFilter(string? @namespace, LabelSelector? labels, FieldSelector? fields)
{
    public static readonly ObjectFilter Everything = new(null, null, null);

    public string? Namespace { get; } = @namespace;

    /// <summary>Whether anything but the namespace narrows the selection (then objects can move in and out of it).</summary>
    public bool HasSelectors { get; } = labels is not null || fields is not null;

    public bool InNamespace(StoredObject stored) => Namespace is null || Namespace == stored.Namespace;

    public bool Matches(StoredObject stored) =>
        InNamespace(stored)
        && (labels is null || labels.Matches(stored.Labels))
        && (fields is null || fields.Matches(stored.Value));
}
