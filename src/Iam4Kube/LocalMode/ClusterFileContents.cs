using k8s.Models;

namespace Iam4Kube.LocalMode;

/// <summary>
/// What a cluster file holds. <see cref="Problems"/> make the whole file unusable (its objects are not applied);
/// <see cref="Warnings"/> and <see cref="Skipped"/> objects are only reported.
/// </summary>
internal sealed record ClusterFileContents(
    IReadOnlyList<V1Pod> Pods,
    IReadOnlyList<V1ServiceAccount> ServiceAccounts,
    IReadOnlyList<V1Node> Nodes,
    IReadOnlyList<ClusterFileProblem> Skipped,
    IReadOnlyList<ClusterFileProblem> Warnings,
    IReadOnlyList<ClusterFileProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;
}
