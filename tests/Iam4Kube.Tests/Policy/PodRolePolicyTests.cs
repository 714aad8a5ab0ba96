using Iam4Kube.Observability;
using Iam4Kube.Outcomes;
using Iam4Kube.Policy;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iam4Kube.Tests.Policy;

/// <summary>
/// Compatibility mode (--pod-annotations) in the policy stage and its prefetch: a pod's own role when its
/// ServiceAccount names none, the ServiceAccount winning (and saying so once) when both do, --default-role for pods
/// with neither, restrictions on every source, and one wanted role per (role, external id, namespace@serviceaccount).
/// </summary>
public sealed class PodRolePolicyTests
{
    private const string Base = "arn:aws:iam::123456789012:role/";
    private static readonly string Reader = KubeObjects.RoleArn("reader");
    private static readonly string Writer = KubeObjects.RoleArn("writer");
    private readonly RecordingDemand _refresher = new();
    private readonly RecordingPodEvents _events = new();
    private readonly Iam4KubeMetrics _metrics = new();
    private readonly NamespaceStore _namespaces = new(NullLogger<NamespaceStore>.Instance) { Watched = true };
    private readonly PodIndex _pods = new();

    private static PodInfo Pod(string name, string serviceAccount = "app", string? role = null, string? externalId = null, string ip = "10.1.2.3")
    {
        var pod = KubeObjects.Pod("team-a", name, ip, serviceAccount);
        return PodInfo.FromPod(role is null ? pod : pod.WithRoleAnnotation(role, externalId))!;
    }

    [Fact]
    public void APodNamingItsRoleUnderTheBaseGetsItAsItsServiceAccount()
    {
        var (policy, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));

        var decision = policy.Decide(Pod("web", role: "reader", externalId: "ext-1"));

        Assert.Same(Outcome.Resolved, decision.Outcome);
        Assert.Equal(Reader, decision.Role!.Arn.Value);
        Assert.Equal("ext-1", decision.Role.ExternalId);
        Assert.Equal("team-a@app", decision.Role.SessionName);
    }

    [Fact]
    public void WithoutCompatibilityModeAPodsAnnotationIsIgnored()
    {
        var serviceAccounts = new ServiceAccountStore(_refresher);
        var policy = new RolePolicy(serviceAccounts, RoleGuard.Off(_namespaces), _namespaces);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));

        Assert.Same(Outcome.NoRole, policy.Decide(Pod("web", role: "reader")).Outcome);
    }

    [Fact]
    public void TheServiceAccountWinsAndADisagreementIsToldOnceNotPerRequest()
    {
        var (policy, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Writer));
        var pod = Pod("web", role: "reader");

        for (var i = 0; i < 5; i++)
        {
            var decision = policy.Decide(pod);
            Assert.Equal(Writer, decision.Role!.Arn.Value);
        }

        var (eventPod, reason, message) = Assert.Single(_events.Recorded);
        Assert.Same(pod, eventPod);
        Assert.Equal(PodEventReason.IamRoleAnnotationsDisagree, reason);
        Assert.Equal($"ServiceAccount app's iam.amazonaws.com/roleArn {Writer} wins over the pod's iam.amazonaws.com/role, which names {Reader}", message);
        Assert.Equal(1, _metrics.RoleAnnotationsDisagree.Value);

        // The ServiceAccount names another role: that is a new disagreement, told once more.
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", KubeObjects.RoleArn("auditor")));
        policy.Decide(pod);
        policy.Decide(pod);
        Assert.Equal(2, _events.Recorded.Count);
    }

    [Theory]
    [InlineData("writer", null, null)]
    [InlineData("arn:aws:iam::123456789012:role/writer", null, null)]
    [InlineData("writer", "ext-9", "names the same role with another external id")]
    [InlineData("bad name", null, "is malformed (annotation iam.amazonaws.com/role: 'bad name'")]
    public void AgreeingAnnotationsSayNothingAndDisagreeingOnesSayHow(string podRole, string? podExternalId, string? says)
    {
        var (policy, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Writer));

        Assert.Equal(Writer, policy.Decide(Pod("web", role: podRole, externalId: podExternalId)).Role!.Arn.Value);

        if (says is null)
        {
            Assert.Empty(_events.Recorded);
        }
        else
        {
            Assert.Contains(says, Assert.Single(_events.Recorded).Message);
        }
    }

    [Theory]
    [InlineData("bad name", Base, "pod team-a/web: annotation iam.amazonaws.com/role: 'bad name' under --base-role-arn")]
    [InlineData("reader", null, "pod team-a/web: annotation iam.amazonaws.com/role: 'reader' is a role name, not an ARN, and iam4kube has no --base-role-arn")]
    public void AMalformedPodAnnotationIsAnInvalidRoleNamingWhy(string role, string? baseRoleArn, string detail)
    {
        var (policy, serviceAccounts) = Build(baseRoleArn: baseRoleArn);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));

        var decision = policy.Decide(Pod("web", role: role));

        Assert.Same(Outcome.InvalidRole, decision.Outcome);
        Assert.StartsWith(detail, decision.Detail);
    }

    [Fact]
    public void TheDefaultRoleIsForPodsWithNeitherAnnotationAndTheNamespaceRulesApplyToIt()
    {
        var (policy, serviceAccounts) = Build(defaultRole: "default-role", namespaceRestrictions: true);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));
        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));

        var forbidden = policy.Decide(Pod("web"));
        Assert.Same(Outcome.RoleForbidden, forbidden.Outcome);
        Assert.Equal($"role {KubeObjects.RoleArn("default-role")} is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles", forbidden.Detail);

        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader", "default-role"]"""));
        var permitted = policy.Decide(Pod("web"));
        Assert.Same(Outcome.Resolved, permitted.Outcome);
        Assert.Equal("team-a@app", permitted.Role!.SessionName);
        // The pod's own annotation beats the default; the ServiceAccount's beats both.
        Assert.Equal(Reader, policy.Decide(Pod("web", role: "reader")).Role!.Arn.Value);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Writer));
        Assert.Same(Outcome.RoleForbidden, policy.Decide(Pod("web")).Outcome);
    }

    [Fact]
    public void TheAllowListAppliesToTheDefaultRole()
    {
        var (policy, serviceAccounts) = Build(defaultRole: "arn:aws:iam::999999999999:role/default-role", allowedRoles: ["arn:aws:iam::123456789012:role/*"]);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));

        var decision = policy.Decide(Pod("web"));

        Assert.Same(Outcome.RoleForbidden, decision.Outcome);
        Assert.Equal("role arn:aws:iam::999999999999:role/default-role is not permitted by --allowed-roles", decision.Detail);
        Assert.Empty(_refresher.Wanted);
    }

    [Fact]
    public async Task AChangeOfThePodsAnnotationWakesWhoeverWatchesTheDecision()
    {
        var (policy, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));
        var v1 = KubeObjects.Pod("team-a", "web", "10.1.2.3", "app").WithRoleAnnotation("reader");
        _pods.Upsert(PodInfo.FromPod(v1)!);
        var pod = _pods.ByUid(v1.Metadata.Uid)!;
        using var watch = policy.WatchForChange(pod, out var changed);
        Assert.False(changed.IsCompleted);

        _pods.Upsert(PodInfo.FromPod(v1.WithRoleAnnotation("writer"))!);

        await changed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Writer, policy.Decide(_pods.ByUid(v1.Metadata.Uid)!).Role!.Arn.Value);
    }

    [Fact]
    public void PodsOfOneServiceAccountNamingOneRoleAreOneWantedRoleForgottenWithTheLastPod()
    {
        var (_, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));
        var first = Pod("web-1", role: "reader", ip: "10.1.2.3");
        var second = Pod("web-2", role: "reader", ip: "10.1.2.4");

        _pods.Upsert(first);
        _pods.Upsert(second);
        var wanted = Assert.Single(_refresher.Wanted);
        Assert.Equal("team-a@app", wanted.SessionName);

        _pods.Remove(first.Uid);
        Assert.Empty(_refresher.Forgotten);
        _pods.Remove(second.Uid);
        Assert.Equal([wanted], _refresher.Forgotten);
    }

    [Fact]
    public void AServiceAccountGainingARoleTakesOverFromItsPodsWithoutDroppingASharedRole()
    {
        var (_, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));
        _pods.Upsert(Pod("web", role: "reader"));
        Assert.Single(_refresher.Wanted);

        // The same role, now from the ServiceAccount (migration step 2): still wanted, never forgotten in between.
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Reader));
        Assert.Single(_refresher.Wanted);
        Assert.Empty(_refresher.Forgotten);

        // Another role from the ServiceAccount: the pod's role is no longer used, so it goes.
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app", Writer));
        Assert.Equal([Reader, Writer], _refresher.Wanted.Select(r => r.Arn.Value));
        Assert.Equal([Reader], _refresher.Forgotten.Select(r => r.Arn.Value));
    }

    [Fact]
    public void AForbiddenDefaultRoleIsNeverPrefetched()
    {
        var (_, serviceAccounts) = Build(defaultRole: "default-role", namespaceRestrictions: true);
        _namespaces.Upsert(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));
        _pods.Upsert(Pod("web"));
        _pods.Upsert(Pod("web-2", role: "reader", ip: "10.1.2.4"));

        Assert.Equal([Reader], _refresher.Wanted.Select(r => r.Arn.Value));
    }

    [Fact]
    public void AFinishedPodWantsNothing()
    {
        var (_, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));

        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-a", "job", "10.1.2.3", "app", phase: "Succeeded").WithRoleAnnotation("reader"))!);

        Assert.Empty(_refresher.Wanted);
    }

    [Fact]
    public void ARelistKeepsWhatIsStillUsedAndForgetsWhatIsGone()
    {
        var (_, serviceAccounts) = Build();
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "app"));
        var kept = Pod("web-1", role: "reader", ip: "10.1.2.3");
        _pods.Upsert(kept);
        _pods.Upsert(Pod("web-2", role: "writer", ip: "10.1.2.4"));

        _pods.ReplaceAll([kept with { }]);

        Assert.Equal([Reader, Writer], _refresher.Wanted.Select(r => r.Arn.Value));
        Assert.Equal([Writer], _refresher.Forgotten.Select(r => r.Arn.Value));
    }

    private (RolePolicy Policy, ServiceAccountStore ServiceAccounts) Build(
        string? baseRoleArn = Base, string? defaultRole = null, IReadOnlyList<string>? allowedRoles = null, bool namespaceRestrictions = false)
    {
        var patterns = (allowedRoles ?? []).Select(g => RolePattern.TryGlob(g, out var p, out _) ? p : throw new ArgumentException(g)).ToList();
        var guard = new RoleGuard(patterns, namespaceRestrictions, _namespaces);
        var settings = PodRoleSettings.From(new global::Iam4Kube.Hosting.Iam4KubeOptions { PodAnnotations = true, BaseRoleArn = baseRoleArn, DefaultRole = defaultRole })!;
        var demand = new CountedRoleDemand(guard.IsOff ? _refresher : new PermittedRoleDemand(_refresher, guard, _namespaces));
        var serviceAccounts = new ServiceAccountStore(demand);
        new PodRoleDemand(settings, demand).Attach(_pods, serviceAccounts);
        var podRoles = new PodRoles(settings, _pods, _events, _metrics, NullLogger<PodRoles>.Instance);
        return (new RolePolicy(serviceAccounts, guard, _namespaces, podRoles), serviceAccounts);
    }
}
