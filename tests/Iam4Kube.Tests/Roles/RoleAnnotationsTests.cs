using Iam4Kube.Cluster;
using Iam4Kube.Roles;

namespace Iam4Kube.Tests.Roles;

public sealed class RoleAnnotationsTests
{
    private static readonly NamespacedName Account = new("team", "app");

    private static RoleAssignment Parse(params (string Key, string Value)[] annotations) =>
        RoleAnnotations.Parse(Account, annotations.ToDictionary(a => a.Key, a => a.Value));

    [Fact]
    public void NoAnnotationsMeansNoRole()
    {
        Assert.IsType<RoleAssignment.None>(RoleAnnotations.Parse(Account, null));
        Assert.IsType<RoleAssignment.None>(Parse(("other", "x")));
    }

    [Fact]
    public void RoleArnAnnotationAssignsTheRoleWithSessionName()
    {
        var assigned = Assert.IsType<RoleAssignment.Assigned>(Parse((RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app")));
        Assert.Equal("arn:aws:iam::123456789012:role/app", assigned.Role.Arn.Value);
        Assert.Equal("team@app", assigned.Role.SessionName);
        Assert.Null(assigned.Role.ExternalId);
    }

    [Fact]
    public void ExternalIdIsCarried()
    {
        var assigned = Assert.IsType<RoleAssignment.Assigned>(Parse(
            (RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app"),
            (RoleAnnotations.ExternalIdKey, "tenant-42:prod/a=b")));
        Assert.Equal("tenant-42:prod/a=b", assigned.Role.ExternalId);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    public void ExternalIdsOutsideStsAllowedSetAreInvalid(string externalId)
    {
        var invalid = Assert.IsType<RoleAssignment.Invalid>(Parse(
            (RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app"),
            (RoleAnnotations.ExternalIdKey, externalId)));
        Assert.Contains(RoleAnnotations.ExternalIdKey, invalid.Reason);
    }

    [Fact]
    public void OverlongExternalIdIsInvalid()
    {
        Assert.IsType<RoleAssignment.Invalid>(Parse(
            (RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app"),
            (RoleAnnotations.ExternalIdKey, new string('e', 1225))));
    }

    [Fact]
    public void ExternalIdWithoutRoleIsInvalid()
    {
        Assert.IsType<RoleAssignment.Invalid>(Parse((RoleAnnotations.ExternalIdKey, "abc")));
    }

    [Theory]
    [InlineData("app")]
    [InlineData("arn:aws:iam::123456789012:user/app")]
    [InlineData("arn:aws:sts::123456789012:assumed-role/app/x")]
    [InlineData("")]
    public void MalformedRoleArnIsInvalidNotIgnored(string value)
    {
        var invalid = Assert.IsType<RoleAssignment.Invalid>(Parse((RoleAnnotations.RoleArnKey, value)));
        Assert.StartsWith($"annotation {RoleAnnotations.RoleArnKey}", invalid.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoServiceAccountsWithTheSameRoleGetDistinctCacheKeys()
    {
        var annotations = new Dictionary<string, string> { [RoleAnnotations.RoleArnKey] = "arn:aws:iam::123456789012:role/app" };
        var a = Assert.IsType<RoleAssignment.Assigned>(RoleAnnotations.Parse(new("ns1", "sa"), annotations));
        var b = Assert.IsType<RoleAssignment.Assigned>(RoleAnnotations.Parse(new("ns2", "sa"), annotations));
        Assert.NotEqual(a.Role, b.Role);
        Assert.Equal(a.Role, Assert.IsType<RoleAssignment.Assigned>(RoleAnnotations.Parse(new("ns1", "sa"), annotations)).Role);
    }
}
