using Iam4Kube.Outcomes;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iam4Kube.Tests.Policy;

/// <summary>
/// The policy stage with restrictions on: --allowed-roles first, then the namespace's rules; a forbidden role is a
/// final refusal naming the rule, is never prefetched, and a change of the namespace's rules re-decides at once.
/// </summary>
public sealed class RolePolicyGuardTests
{
    private static readonly string Reader = KubeObjects.RoleArn("reader");
    private static readonly string Writer = KubeObjects.RoleArn("writer");
    private readonly RecordingDemand _refresher = new();
    private readonly NamespaceStore _namespaces = new(NullLogger<NamespaceStore>.Instance) { Watched = true };
    private readonly PodInfo _pod = PodInfo.FromPod(KubeObjects.Pod("team-a", "web", "10.1.2.3", "app"))!;

    [Fact]
    public void ARoleTheNamespaceDoesNotPermitIsForbiddenForGoodNamingTheRule()
    {
        var (policy, serviceAccounts) = Build();
        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Writer));

        var decision = policy.Decide(_pod);

        Assert.Same(Outcome.RoleForbidden, decision.Outcome);
        Assert.True(decision.Outcome.IsFinal);
        Assert.Null(decision.Role);
        Assert.Equal($"role {Writer} is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles", decision.Detail);
    }

    [Fact]
    public void ARoleTheNamespacePermitsIsAssigned()
    {
        var (policy, serviceAccounts) = Build();
        _namespaces.Upsert(KubeObjects.Namespace("team-a", permitted: "reader|writer"));
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Writer));

        var decision = policy.Decide(_pod);

        Assert.Same(Outcome.Resolved, decision.Outcome);
        Assert.Equal(Writer, decision.Role!.Arn.Value);
    }

    [Fact]
    public void AnUnknownNamespaceIsWaitedForNeverAssumed()
    {
        var (policy, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));

        var decision = policy.Decide(_pod);

        Assert.Same(Outcome.NamespaceUnknown, decision.Outcome);
        Assert.False(decision.Outcome.IsFinal);
        Assert.Empty(_refresher.Wanted);
    }

    [Fact]
    public void AMalformedAnnotationForbidsEveryRoleAndNamesTheAnnotation()
    {
        var (policy, serviceAccounts) = Build();
        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]""", permitted: "("));
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));

        var decision = policy.Decide(_pod);

        Assert.Same(Outcome.RoleForbidden, decision.Outcome);
        Assert.StartsWith($"role {Reader} is not permitted in namespace team-a: annotation iam.amazonaws.com/permitted is malformed", decision.Detail);
        Assert.Equal(1, _namespaces.InvalidCount);
    }

    [Fact]
    public void TheAllowListAppliesBeforeTheNamespaceRules()
    {
        var (policy, serviceAccounts) = Build(allowedRoles: ["arn:aws:iam::999999999999:role/*"]);
        _namespaces.Upsert(KubeObjects.Namespace("team-a", permitted: ".*"));
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));

        var decision = policy.Decide(_pod);

        Assert.Same(Outcome.RoleForbidden, decision.Outcome);
        Assert.Equal($"role {Reader} is not permitted by --allowed-roles", decision.Detail);
    }

    [Fact]
    public void TheAllowListAloneNeedsNoNamespace()
    {
        var (policy, serviceAccounts) = Build(allowedRoles: ["arn:aws:iam::123456789012:role/*"], namespaceRestrictions: false);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));

        Assert.Same(Outcome.Resolved, policy.Decide(_pod).Outcome);
        Assert.Single(_refresher.Wanted);
    }

    [Fact]
    public void OnlyPermittedRolesArePrefetchedAndANamespaceEditReDecidesTheirPrefetch()
    {
        var (_, serviceAccounts) = Build();
        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Writer));
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "other", Reader));
        Assert.Equal([Reader], _refresher.Wanted.Select(r => r.Arn.Value));

        // Writer permitted, reader no longer: one is wanted, the other forgotten (its credentials dropped).
        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["writer"]"""));

        Assert.Equal([Reader, Writer], _refresher.Wanted.Select(r => r.Arn.Value));
        Assert.Equal([Reader], _refresher.Forgotten.Select(r => r.Arn.Value));

        // The ServiceAccount of the forbidden role drops it: nothing more to forget.
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "other"));
        Assert.Single(_refresher.Forgotten);
    }

    [Fact]
    public void ANamespaceDeletedForgetsItsRoles()
    {
        var (_, serviceAccounts) = Build();
        var ns = KubeObjects.Namespace("team-a", permitted: ".*");
        _namespaces.Upsert(ns);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));

        _namespaces.Remove(ns);

        Assert.Single(_refresher.Forgotten);
    }

    [Fact]
    public async Task ANamespaceEditWakesWhoeverWatchesTheDecision()
    {
        var (policy, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));
        using var watch = policy.WatchForChange(_pod, out var changed);
        Assert.False(changed.IsCompleted);

        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));

        await changed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Same(Outcome.Resolved, policy.Decide(_pod).Outcome);
    }

    [Fact]
    public void AnEditOfOtherAnnotationsWakesNobody()
    {
        var (policy, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));
        var ns = KubeObjects.Namespace("team-a", allowedRoles: """["reader"]""");
        _namespaces.Upsert(ns);
        using var watch = policy.WatchForChange(_pod, out var changed);

        ns.Metadata.Annotations["example.com/unrelated"] = "x";
        _namespaces.Upsert(ns);

        Assert.False(changed.IsCompleted);
        Assert.Single(_refresher.Wanted);
    }

    [Theory]
    [InlineData(null, true, null)]
    [InlineData("writer", false, "role arn:aws:iam::123456789012:role/writer is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles")]
    [InlineData("not-an-arn", false, "ServiceAccount team-a/app: annotation iam.amazonaws.com/roleArn: not an ARN")]
    [InlineData("reader", true, null)]
    public void AdmissionAnswersAServiceAccountAsServingWould(string? role, bool allowed, string? messageStart)
    {
        var (_, _, guard) = BuildWithGuard();
        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));
        var annotations = role is null ? null : new Dictionary<string, string> { [RoleAnnotations.RoleArnKey] = role.StartsWith("not", StringComparison.Ordinal) ? role : KubeObjects.RoleArn(role) };

        var verdict = RoleAdmission.ForServiceAccount(new NamespacedName("team-a", "app"), annotations, guard);

        Assert.Equal(allowed, verdict.Allowed);
        if (messageStart is not null)
        {
            Assert.StartsWith(messageStart, verdict.Message);
        }
    }

    [Fact]
    public void AdmissionAllowsWithAWarningWhenTheNamespaceIsNotSeenYet()
    {
        var (_, _, guard) = BuildWithGuard();

        var verdict = RoleAdmission.ForRole(RolePatternTests.Arn(Reader), "team-new", guard);

        Assert.True(verdict.Allowed);
        Assert.Contains("not known to iam4kube yet", verdict.Warning);
    }

    private (RolePolicy Policy, ServiceAccountStore ServiceAccounts) Build(IReadOnlyList<string>? allowedRoles = null, bool namespaceRestrictions = true)
    {
        var (policy, serviceAccounts, _) = BuildWithGuard(allowedRoles, namespaceRestrictions);
        return (policy, serviceAccounts);
    }

    private (RolePolicy Policy, ServiceAccountStore ServiceAccounts, RoleGuard Guard) BuildWithGuard(IReadOnlyList<string>? allowedRoles = null, bool namespaceRestrictions = true)
    {
        var patterns = (allowedRoles ?? []).Select(g => RolePattern.TryGlob(g, out var p, out _) ? p : throw new ArgumentException(g)).ToList();
        var guard = new RoleGuard(patterns, namespaceRestrictions, _namespaces);
        var serviceAccounts = new ServiceAccountStore(new PermittedRoleDemand(_refresher, guard, _namespaces));
        return (new RolePolicy(serviceAccounts, guard, _namespaces), serviceAccounts, guard);
    }
}
