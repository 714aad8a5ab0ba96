using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;

namespace Iam4Kube.Tests.Roles;

/// <summary>Compatibility mode's reading of kube2iam/kiam pod annotations: names under --base-role-arn, paths, full ARNs, partitions, malformed values.</summary>
public sealed class PodRoleAnnotationsTests
{
    private const string Base = "arn:aws:iam::123456789012:role/";
    private static readonly NamespacedName Account = new("team-a", "app");

    [Theory]
    [InlineData("reader", Base, "arn:aws:iam::123456789012:role/reader")]
    [InlineData("team/reader", Base, "arn:aws:iam::123456789012:role/team/reader")]
    [InlineData("/reader", Base, "arn:aws:iam::123456789012:role/reader")]
    [InlineData("reader", "arn:aws:iam::123456789012:role/k8s/", "arn:aws:iam::123456789012:role/k8s/reader")]
    [InlineData("a/b/reader", "arn:aws:iam::123456789012:role/k8s/", "arn:aws:iam::123456789012:role/k8s/a/b/reader")]
    [InlineData("reader", "arn:aws-cn:iam::210987654321:role/", "arn:aws-cn:iam::210987654321:role/reader")]
    [InlineData("reader+x=y,z.w@q_r-1", Base, "arn:aws:iam::123456789012:role/reader+x=y,z.w@q_r-1")]
    [InlineData("arn:aws:iam::999999999999:role/other", Base, "arn:aws:iam::999999999999:role/other")]
    [InlineData("arn:aws-us-gov:iam::123456789012:role/path/gov", null, "arn:aws-us-gov:iam::123456789012:role/path/gov")]
    [InlineData("arn:aws-cn:iam::123456789012:role/cn", null, "arn:aws-cn:iam::123456789012:role/cn")]
    public void ANameResolvesUnderTheBaseAndAFullArnIsTakenAsItIs(string text, string? baseRoleArn, string expected)
    {
        Assert.True(PodRoleAnnotations.TryResolve(text, baseRoleArn, out var arn, out var error), error);
        Assert.Equal(expected, arn!.Value);
    }

    [Theory]
    [InlineData("reader", null, "'reader' is a role name, not an ARN, and iam4kube has no --base-role-arn to resolve it under")]
    [InlineData("team/reader", null, "--base-role-arn")]
    [InlineData("", Base, "the role is empty")]
    [InlineData("bad name", Base, "'bad name' under --base-role-arn arn:aws:iam::123456789012:role/ is not a valid role: the role ARN contains white space")]
    [InlineData("re*der", Base, "is not a valid role name")]
    [InlineData("team//reader", Base, "is not a valid IAM path")]
    [InlineData("arn:aws:iam::12345:role/x", Base, "'12345' is not a 12-digit AWS account id")]
    [InlineData("arn:aws:s3:::bucket", Base, "not 'iam'")]
    [InlineData("arn:aws:iam::123456789012:user/alice", Base, "not a role")]
    [InlineData("arn:aws-moon:iam::123456789012:role/x", Base, "unknown AWS partition 'aws-moon'")]
    public void AMalformedRoleIsRefusedWithAClearMessage(string text, string? baseRoleArn, string message)
    {
        Assert.False(PodRoleAnnotations.TryResolve(text, baseRoleArn, out var arn, out var error));
        Assert.Null(arn);
        Assert.Contains(message, error);
    }

    [Theory]
    [InlineData("arn:aws:iam::123456789012:role/", "arn:aws:iam::123456789012:role/")]
    [InlineData("arn:aws:iam::123456789012:role", "arn:aws:iam::123456789012:role/")]
    [InlineData("arn:aws:iam::123456789012:role/k8s", "arn:aws:iam::123456789012:role/k8s/")]
    [InlineData("arn:aws:iam::123456789012:role/k8s/apps/", "arn:aws:iam::123456789012:role/k8s/apps/")]
    [InlineData("arn:aws-cn:iam::123456789012:role/", "arn:aws-cn:iam::123456789012:role/")]
    public void TheBaseRoleArnIsTakenWithOrWithoutItsTrailingSlash(string text, string prefix)
    {
        Assert.True(PodRoleAnnotations.TryParseBase(text, out var parsed, out var error), error);
        Assert.Equal(prefix, parsed);
    }

    [Theory]
    [InlineData("123456789012")]
    [InlineData("arn:aws:iam::123456789012:user/")]
    [InlineData("arn:aws:iam::1234:role/")]
    [InlineData("arn:aws:iam::123456789012:role//")]
    [InlineData("arn:aws:sts::123456789012:role/")]
    [InlineData("arn:aws:iam:eu-west-1:123456789012:role/")]
    public void AMalformedBaseRoleArnIsRefused(string text)
    {
        Assert.False(PodRoleAnnotations.TryParseBase(text, out _, out var error));
        Assert.StartsWith("expected arn:PARTITION:iam::ACCOUNT_ID:role/ or arn:PARTITION:iam::ACCOUNT_ID:role/PATH/ (", error);
    }

    [Fact]
    public void APodRoleIsAssumedAsItsServiceAccountWithItsExternalId()
    {
        var assigned = Assert.IsType<RoleAssignment.Assigned>(PodRoleAnnotations.Assign(Account, new PodRoleValues("reader", "ext-1"), Base, defaultRole: null));

        Assert.Equal("arn:aws:iam::123456789012:role/reader", assigned.Role.Arn.Value);
        Assert.Equal("ext-1", assigned.Role.ExternalId);
        Assert.Equal("team-a@app", assigned.Role.SessionName);
        Assert.Equal(Account, assigned.Role.ServiceAccount);
        // Two pods of one ServiceAccount naming one role: one role, one cache entry, one session.
        Assert.Equal(assigned, PodRoleAnnotations.Assign(Account, new PodRoleValues("arn:aws:iam::123456789012:role/reader", "ext-1"), Base, null));
    }

    [Fact]
    public void TheDefaultRoleIsForPodsWithNoRoleAnnotationOnly()
    {
        Assert.True(RoleArn.TryParse("arn:aws:iam::123456789012:role/default", out var fallback, out _));

        var assigned = Assert.IsType<RoleAssignment.Assigned>(PodRoleAnnotations.Assign(Account, null, Base, fallback));
        Assert.Equal(fallback, assigned.Role.Arn);
        Assert.Equal("team-a@app", assigned.Role.SessionName);
        Assert.IsType<RoleAssignment.None>(PodRoleAnnotations.Assign(Account, null, Base, defaultRole: null));

        // A pod that asked for something malformed gets nothing, not the default.
        var invalid = Assert.IsType<RoleAssignment.Invalid>(PodRoleAnnotations.Assign(Account, new PodRoleValues("bad name", null), Base, fallback));
        Assert.StartsWith("annotation iam.amazonaws.com/role: 'bad name'", invalid.Reason);
    }

    [Theory]
    [InlineData(null, "x", "annotation iam.amazonaws.com/external-id is set but iam.amazonaws.com/role is not")]
    [InlineData("reader", "x", "annotation iam.amazonaws.com/external-id: must be 2-1224 characters, is 1")]
    [InlineData("reader", "bad id!", "annotation iam.amazonaws.com/external-id: may contain only")]
    public void AMalformedExternalIdIsInvalid(string? role, string externalId, string reason)
    {
        var invalid = Assert.IsType<RoleAssignment.Invalid>(PodRoleAnnotations.Assign(Account, new PodRoleValues(role, externalId), Base, null));
        Assert.StartsWith(reason, invalid.Reason);
    }

    [Fact]
    public void ThePodInformerKeepsOnlyTheTwoRoleAnnotations()
    {
        var pod = KubeObjects.Pod("team-a", "web", "10.1.2.3", "app").WithRoleAnnotation("reader", "ext-1");
        pod.Metadata.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = new string('x', 10_000);

        var info = PodInfo.FromPod(pod)!;

        Assert.Equal(new PodRoleValues("reader", "ext-1"), info.RoleAnnotations);
        Assert.Null(PodInfo.FromPod(KubeObjects.Pod("team-a", "plain", "10.1.2.4", "app"))!.RoleAnnotations);
        Assert.DoesNotContain(typeof(PodInfo).GetProperties(), p => p.PropertyType == typeof(IDictionary<string, string>));
    }
}
