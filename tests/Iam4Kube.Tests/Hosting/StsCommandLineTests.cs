using Iam4Kube.Hosting;

namespace Iam4Kube.Tests.Hosting;

/// <summary>The flags of issue 14 (session tags, role chaining, STS endpoints), apart from the general parsing tests.</summary>
public sealed class StsCommandLineTests
{
    private static ParseResult Parse(string[] args, Dictionary<string, string>? environment = null) =>
        CommandLine.Parse(args, name => environment?.GetValueOrDefault(name));

    [Fact]
    public void SessionTagsAreOffByDefaultAndASwitch()
    {
        Assert.False(Parse([]).Options!.SessionTags);
        Assert.True(Parse(["--session-tags"]).Options!.SessionTags);
        Assert.False(Parse(["--session-tags=false"]).Options!.SessionTags);
        Assert.Contains("--session-tags takes no value, or =true or =false", Parse(["--session-tags=yes"]).Errors);
    }

    [Fact]
    public void TakesTheClusterNameForTheEksClusterNameTag()
    {
        var options = Parse(["--session-tags", "--cluster-name", "prod-eu-1"]).Options!;
        Assert.Equal("prod-eu-1", options.ClusterName);
    }

    [Theory]
    [InlineData(new[] { "--cluster-name", "prod" }, "--cluster-name 'prod' applies only with --session-tags")]
    [InlineData(new[] { "--session-tags", "--cluster-name", "a|b" }, "--cluster-name 'a|b' is not a valid session tag value")]
    public void RefusesAClusterNameThatCannotBeUsed(string[] args, string expected)
    {
        var result = Parse(args);
        Assert.Null(result.Options);
        Assert.Contains(result.Errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void TakesTheControllerRoleForRoleChaining()
    {
        var options = Parse(["--assume-role-arn", "arn:aws:iam::999988887777:role/iam4kube-controller"]).Options!;
        Assert.Equal("arn:aws:iam::999988887777:role/iam4kube-controller", options.AssumeRoleArn);
    }

    [Fact]
    public void RefusesASessionLongerThanTheChainingHourWithOneClearLine()
    {
        var result = Parse(["--assume-role-arn", "arn:aws:iam::999988887777:role/c", "--session-duration", "2h"]);
        Assert.Null(result.Options);
        Assert.Equal(["--session-duration 2h is refused with --assume-role-arn: STS limits sessions assumed through another role (role chaining) to 1h"], result.Errors);
        Assert.NotNull(Parse(["--assume-role-arn", "arn:aws:iam::999988887777:role/c", "--session-duration", "1h"]).Options);
    }

    [Theory]
    [InlineData(new[] { "--assume-role-arn", "arn:aws:iam::999988887777:user/c" }, "--assume-role-arn: the ARN names 'user', not a role")]
    [InlineData(new[] { "--assume-role-arn", "arn:aws:iam::999988887777:role/c", "--credentials", "offline", "--allow-offline-in-cluster" }, "--assume-role-arn applies only with --credentials sts")]
    public void RefusesAControllerRoleThatCannotBeUsed(string[] args, string expected)
    {
        var result = Parse(args);
        Assert.Null(result.Options);
        Assert.Contains(expected, result.Errors);
    }

    [Fact]
    public void HelpListsTheNewFlags()
    {
        foreach (var flag in new[] { "--session-tags", "--cluster-name", "--assume-role-arn", "--sts-fips" })
        {
            Assert.Contains(flag, CommandLine.Usage, StringComparison.Ordinal);
        }
    }
}
