using Iam4Kube.Credentials;
using Iam4Kube.Hosting;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Credentials;

/// <summary>Which STS endpoint iam4kube's client resolves (AWSSDK's own endpoint rules), and that it is logged at start.</summary>
public sealed class StsEndpointTests
{
    [Theory]
    [InlineData("eu-west-1", false, "https://sts.eu-west-1.amazonaws.com")]
    [InlineData("us-east-1", false, "https://sts.us-east-1.amazonaws.com")]
    [InlineData("us-east-1", true, "https://sts-fips.us-east-1.amazonaws.com")]
    [InlineData("us-west-2", true, "https://sts-fips.us-west-2.amazonaws.com")]
    [InlineData("cn-north-1", false, "https://sts.cn-north-1.amazonaws.com.cn")]
    [InlineData("cn-northwest-1", false, "https://sts.cn-northwest-1.amazonaws.com.cn")]
    [InlineData("us-gov-west-1", false, "https://sts.us-gov-west-1.amazonaws.com")]
    [InlineData("us-gov-west-1", true, "https://sts.us-gov-west-1.amazonaws.com")]
    public void ResolvesTheRegionalEndpointOfTheRegionsPartition(string region, bool fips, string expected)
    {
        var options = CommandLine.Parse(fips ? ["--region", region, "--sts-fips"] : ["--region", region], _ => null).Options!;
        using var client = Iam4KubeServiceCollectionExtensions.CreateStsClient(options, new Amazon.Runtime.AnonymousAWSCredentials());
        Assert.Equal(expected, StsEndpointLog.Describe(client).Endpoint);
    }

    [Fact]
    public void TakesFipsFromTheSdksStandardEnvironmentVariable()
    {
        var environment = new Dictionary<string, string> { ["AWS_USE_FIPS_ENDPOINT"] = "true", ["AWS_REGION"] = "us-east-2" };
        var options = CommandLine.Parse([], name => environment.GetValueOrDefault(name)).Options!;
        Assert.True(options.StsFips);
        using var client = Iam4KubeServiceCollectionExtensions.CreateStsClient(options, new Amazon.Runtime.AnonymousAWSCredentials());
        Assert.Equal("https://sts-fips.us-east-2.amazonaws.com", StsEndpointLog.Describe(client).Endpoint);
    }

    [Fact]
    public void AnExplicitEndpointWinsAndExcludesFips()
    {
        var options = CommandLine.Parse(["--region", "eu-west-1", "--sts-endpoint", "https://vpce-0abc.sts.eu-west-1.vpce.amazonaws.com"], _ => null).Options!;
        using var client = Iam4KubeServiceCollectionExtensions.CreateStsClient(options, new Amazon.Runtime.AnonymousAWSCredentials());
        Assert.Equal("https://vpce-0abc.sts.eu-west-1.vpce.amazonaws.com", StsEndpointLog.Describe(client).Endpoint);
        Assert.Contains("--sts-fips and --sts-endpoint (or AWS_ENDPOINT_URL_STS) exclude each other: an explicit endpoint is used as it is",
            CommandLine.Parse(["--sts-fips", "--sts-endpoint", "https://sts.example"], _ => null).Errors);
    }

    [Fact]
    public async Task LogsTheEndpointOnceAtStart()
    {
        await using var host = await Iam4KubeTestHost.StartAsync();
        var lines = host.LogText.Split('\n').Where(l => l.Contains("AssumeRole goes to STS at", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.Contains(host.Sts.Url, line, StringComparison.Ordinal);
    }
}
