using Iam4Kube.Outcomes;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestSupport;

namespace Iam4Kube.Tests.Policy;

/// <summary>The policy stage on its own: a pod becomes its ServiceAccount's role, or a reason it has none.</summary>
public sealed class RolePolicyTests
{
    private readonly RecordingDemand _demand = new();
    private readonly ServiceAccountStore _serviceAccounts;
    private readonly RolePolicy _policy;
    private readonly PodInfo _pod = PodInfo.FromPod(KubeObjects.Pod("team-a", "web", "10.1.2.3", "writer"))!;

    public RolePolicyTests()
    {
        _serviceAccounts = new ServiceAccountStore(_demand);
        var namespaces = new NamespaceStore(Microsoft.Extensions.Logging.Abstractions.NullLogger<NamespaceStore>.Instance);
        _policy = new RolePolicy(_serviceAccounts, RoleGuard.Off(namespaces), namespaces);
    }

    [Fact]
    public void AnAnnotatedServiceAccountGivesItsRoleWithSessionNameAndExternalId()
    {
        _serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "writer", KubeObjects.RoleArn("report-writer"), "ext-id-1"));

        var decision = _policy.Decide(_pod);

        Assert.Same(Outcome.Resolved, decision.Outcome);
        Assert.Equal("report-writer", decision.Role!.Arn.RoleName);
        Assert.Equal("ext-id-1", decision.Role.ExternalId);
        Assert.Equal("team-a@writer", decision.Role.SessionName);
    }

    [Fact]
    public void AServiceAccountWithoutTheAnnotationGivesNoRoleForGood()
    {
        _serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "writer"));

        var decision = _policy.Decide(_pod);

        Assert.Same(Outcome.NoRole, decision.Outcome);
        Assert.True(decision.Outcome.IsFinal);
        Assert.Null(decision.Role);
        Assert.Contains(RoleAnnotations.RoleArnKey, decision.Detail);
    }

    [Theory]
    [InlineData("arn:aws:iam::123456789012:user/not-a-role", null)]
    [InlineData("not-an-arn", null)]
    [InlineData("arn:aws:iam::123456789012:role/ok", "x")]
    public void AMalformedAnnotationIsInvalidAndSaysWhy(string roleArn, string? externalId)
    {
        _serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "writer", roleArn, externalId));

        var decision = _policy.Decide(_pod);

        Assert.Same(Outcome.InvalidRole, decision.Outcome);
        Assert.StartsWith("ServiceAccount team-a/writer: annotation iam.amazonaws.com/", decision.Detail);
    }

    [Fact]
    public void AnUnknownServiceAccountIsWaitedFor()
    {
        var decision = _policy.Decide(_pod);

        Assert.Same(Outcome.ServiceAccountUnknown, decision.Outcome);
        Assert.False(decision.Outcome.IsFinal);
    }

    [Fact]
    public async Task TheDecisionIsWatchedThroughTheServiceAccount()
    {
        using var watch = _policy.WatchForChange(_pod, out var changed);
        Assert.False(changed.IsCompleted);

        _serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "writer", KubeObjects.RoleArn("report-writer")));

        await changed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Same(Outcome.Resolved, _policy.Decide(_pod).Outcome);
    }

    [Fact]
    public void TheAnnotationsAreKeptAsWrittenForLaterInputsToReDecide()
    {
        _serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "writer", "not-an-arn", "ext-id-1"));

        var kept = _serviceAccounts.Get(new NamespacedName("team-a", "writer"));

        Assert.Equal(new RoleAnnotationValues("not-an-arn", "ext-id-1"), kept!.Annotations);
        Assert.IsType<RoleAssignment.Invalid>(kept.Assignment);
    }

    [Fact]
    public void AnAnnotationRewrittenToTheSameRoleNeitherRefetchesNorForgetsIt()
    {
        _serviceAccounts.Upsert(KubeObjects.ServiceAccount("team-a", "writer", KubeObjects.RoleArn("report-writer")));
        var unannotatedExtra = KubeObjects.ServiceAccount("team-a", "writer", KubeObjects.RoleArn("report-writer"));
        unannotatedExtra.Metadata.Annotations["example.com/unrelated"] = "changed";

        _serviceAccounts.Upsert(unannotatedExtra);

        Assert.Single(_demand.Wanted);
        Assert.Empty(_demand.Forgotten);
    }
}
