using Iam4Kube.Roles;

namespace Iam4Kube.Tests.Roles;

public sealed class RoleArnTests
{
    [Theory]
    [InlineData("arn:aws:iam::123456789012:role/app", "aws", "/", "app")]
    [InlineData("arn:aws-cn:iam::123456789012:role/team/app-reader", "aws-cn", "/team/", "app-reader")]
    [InlineData("arn:aws-us-gov:iam::123456789012:role/a/b/c/Name+=,.@_-", "aws-us-gov", "/a/b/c/", "Name+=,.@_-")]
    public void AcceptsRoleArnsOfEveryPartitionWithAndWithoutPath(string text, string partition, string path, string name)
    {
        Assert.True(RoleArn.TryParse(text, out var arn, out var error), error);
        Assert.Equal(partition, arn.Partition);
        Assert.Equal("123456789012", arn.AccountId);
        Assert.Equal(path, arn.Path);
        Assert.Equal(name, arn.RoleName);
        Assert.Equal(text, arn.Value);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("app-role", "not an ARN")]
    [InlineData("arn:aws:s3:::bucket/key", "not 'iam'")]
    [InlineData("arn:aws:iam::123456789012:user/bob", "not a role")]
    [InlineData("arn:aws:iam::12345:role/app", "12-digit")]
    [InlineData("arn:aws:iam::12345678901a:role/app", "12-digit")]
    [InlineData("arn:aws:iam:eu-west-1:123456789012:role/app", "no region")]
    [InlineData("arn:aws:iam::123456789012:role/", "not a valid role name")]
    [InlineData("arn:aws:iam::123456789012:role/has space", "white space")]
    [InlineData(" arn:aws:iam::123456789012:role/app", "white space")]
    [InlineData("arn:aws:iam::123456789012:role/app\n", "white space")]
    [InlineData("arn:mars:iam::123456789012:role/app", "partition")]
    [InlineData("arn:aws:iam::123456789012:role/a//b", "path")]
    [InlineData("arn:aws:iam::123456789012:role/naïve", "not a valid role name")]
    public void RejectsWhatIsNotAnIamRoleArnWithAClearReason(string text, string expected)
    {
        Assert.False(RoleArn.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void RejectsOversizedValues()
    {
        var huge = "arn:aws:iam::123456789012:role/" + new string('a', 2048);
        Assert.False(RoleArn.TryParse(huge, out _, out var error));
        Assert.Contains("2048", error);
    }

    [Fact]
    public void RejectsRoleNamesLongerThan64Characters()
    {
        Assert.True(RoleArn.TryParse("arn:aws:iam::123456789012:role/" + new string('a', 64), out _, out _));
        Assert.False(RoleArn.TryParse("arn:aws:iam::123456789012:role/" + new string('a', 65), out _, out _));
    }
}
