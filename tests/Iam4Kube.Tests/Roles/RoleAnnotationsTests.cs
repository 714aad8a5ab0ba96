using Iam4Kube.Roles;
using Iam4Kube.Stores;

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

    [Theory]
    [InlineData("7200", 7200)]
    [InlineData("900", 900)]
    [InlineData("43200", 43200)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("15m", 900)]
    public void SessionDurationIsSecondsOrAGoDuration(string value, int seconds)
    {
        var assigned = Assert.IsType<RoleAssignment.Assigned>(Parse(
            (RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app"),
            (RoleAnnotations.SessionDurationKey, value)));
        Assert.Equal(TimeSpan.FromSeconds(seconds), assigned.Role.SessionDuration);
    }

    [Theory]
    [InlineData("899", "must be whole seconds from 900 (15m) to 43200 (12h), is 899 s")]
    [InlineData("43201", "must be whole seconds from 900 (15m) to 43200 (12h), is 43201 s")]
    [InlineData("13h", "must be whole seconds from 900 (15m) to 43200 (12h), is 46800 s")]
    [InlineData("1000.5s", "must be whole seconds")]
    [InlineData("soon", "'soon' is neither seconds (3600) nor a duration (1h, 90m)")]
    [InlineData("-3600", "is neither seconds")]
    public void RefusesASessionDurationStsWouldRefuse(string value, string expected)
    {
        var invalid = Assert.IsType<RoleAssignment.Invalid>(Parse(
            (RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app"),
            (RoleAnnotations.SessionDurationKey, value)));
        Assert.StartsWith("annotation iam.amazonaws.com/sessionDuration: ", invalid.Reason, StringComparison.Ordinal);
        Assert.Contains(expected, invalid.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ASessionDurationWithoutARoleIsInvalid()
    {
        var invalid = Assert.IsType<RoleAssignment.Invalid>(Parse((RoleAnnotations.SessionDurationKey, "2h")));
        Assert.Equal("annotation iam.amazonaws.com/sessionDuration is set but iam.amazonaws.com/roleArn is not", invalid.Reason);
    }

    [Fact]
    public void ADifferentSessionDurationIsADifferentCacheEntry()
    {
        var plain = Assert.IsType<RoleAssignment.Assigned>(Parse((RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app")));
        var longer = Assert.IsType<RoleAssignment.Assigned>(Parse((RoleAnnotations.RoleArnKey, "arn:aws:iam::123456789012:role/app"), (RoleAnnotations.SessionDurationKey, "2h")));
        Assert.Null(plain.Role.SessionDuration);
        Assert.NotEqual(plain.Role, longer.Role);
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
