namespace Iam4Kube.Testing.Kubernetes;

/// <summary>One LIST answer: the items (references to immutable versions) and the list metadata.</summary>
internal sealed record ListPage(
    long ResourceVersion,
    IReadOnlyList<StoredObject> Items,
    string? Continue,
    long? RemainingItemCount);
