namespace Iam4Kube.Testing.Kubernetes;

/// <summary>What a change in the fake's history did to its object: the watch event type it is served as.</summary>
internal enum ChangeType
{
    Added,
    Modified,
    Deleted,
}
