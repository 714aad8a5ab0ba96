using Iam4Kube.Cluster;
using Iam4Kube.Testing;
using Iam4Kube.Tests.Deploy;
using k8s.Models;

namespace Iam4Kube.Tests.Cluster;

/// <summary>Each watched kind is described once (<see cref="ClusterView.Kinds"/>); what the cluster must grant follows from it.</summary>
public sealed class WatchedKindsTests
{
    [Fact]
    public void DeployBaseGrantsEveryWatchedKindItsVerbs()
    {
        var role = Manifests.Load(Manifests.BaseFiles).Single<V1ClusterRole>("iam4kube");

        Assert.All(ClusterView.Kinds, kind => Assert.All(kind.Verbs, verb => Assert.Contains(role.Rules, rule =>
            rule.ApiGroups.Contains("") && rule.Resources.Contains(kind.Resource) && rule.Verbs.Contains(verb))));
    }

    [Fact]
    public void EveryKindIsListedAndWatchedUnderItsOwnName()
    {
        Assert.Equal(["pods", "serviceaccounts", "nodes", "namespaces"], ClusterView.Kinds.Select(k => k.Resource));
        Assert.All(ClusterView.Kinds, kind => Assert.Superset(new HashSet<string> { "list", "watch" }, kind.Verbs.ToHashSet()));
    }

    [Fact]
    public void TheCodeMapHasARowForEveryWatchedKind()
    {
        var codeMap = File.ReadAllLines(Checkout.Combine("docs", "architecture.md"));

        Assert.All(ClusterView.Kinds, kind => Assert.Contains(codeMap, line =>
            line.StartsWith($"| `{kind.Resource}` | {string.Join(", ", kind.Verbs)} |", StringComparison.Ordinal)));
    }
}
