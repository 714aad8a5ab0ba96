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
    public void HelpListsTheNewFlags()
    {
        foreach (var flag in new[] { "--session-tags", "--cluster-name" })
        {
            Assert.Contains(flag, CommandLine.Usage, StringComparison.Ordinal);
        }
    }
}
