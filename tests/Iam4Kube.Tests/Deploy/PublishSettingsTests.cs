using System.Text.RegularExpressions;
using System.Xml.Linq;
using Iam4Kube.Testing;

namespace Iam4Kube.Tests.Deploy;

/// <summary>
/// The build the image ships (build/publish.sh) is the one docs/benchmarks.md measured (issue 15): iam4kube
/// published with NativeAOT, workstation GC; every build runs the trim and AOT analyzers and the request delegate
/// generator, so that what NativeAOT cannot compile fails `dotnet build` and the tests run the generated request
/// delegates the binary runs. Publishing with NativeAOT takes minutes, so the tests check the settings and the
/// bench runs the binary (scenario 8).
/// </summary>
public sealed partial class PublishSettingsTests
{
    [Fact]
    public void Iam4KubeIsPublishedWithNativeAotAndWorkstationGc()
    {
        var publish = File.ReadAllText(Checkout.Combine("build", "publish.sh"));
        var properties = Properties();

        // publish() publishes with NativeAOT and runs what it published; both binaries go through it.
        var function = publish[publish.IndexOf("\npublish() {\n", StringComparison.Ordinal)..];
        function = function[..function.IndexOf("\n}\n", StringComparison.Ordinal)];
        Assert.Contains(" -p:PublishAot=true ", function, StringComparison.Ordinal);
        Assert.Contains("\"$out/$name/$name\" --version", function, StringComparison.Ordinal);
        Assert.Matches(PublishesIam4Kube(), publish);
        Assert.Matches(PublishesIp2Service(), publish);
        Assert.Equal("false", properties.GetValueOrDefault("ServerGarbageCollection"));
        // In publish.sh only: set in the csproj, `dotnet build` and the tests would change build mode too.
        Assert.DoesNotContain("PublishAot", properties.Keys);
        Assert.DoesNotContain("PublishReadyToRun", properties.Keys);
    }

    [Fact]
    public void EveryBuildOfIam4KubeRunsTheAotAnalyzersAndTheRequestDelegateGenerator()
    {
        var properties = Properties();

        Assert.Equal("true", properties.GetValueOrDefault("EnableTrimAnalyzer"));
        Assert.Equal("true", properties.GetValueOrDefault("EnableAotAnalyzer"));
        Assert.Equal("true", properties.GetValueOrDefault("EnableRequestDelegateGenerator"));
    }

    [Fact]
    public void OnlySerilogsSummedUpTrimWarningsAreSilencedAndOnlyForTheAotPublish()
    {
        var noWarn = XDocument.Load(Checkout.Combine("src", "Iam4Kube", "Iam4Kube.csproj"))
            .Descendants("NoWarn").Single();

        Assert.Equal("'$(PublishAot)' == 'true'", noWarn.Attribute("Condition")?.Value);
        Assert.Equal(["$(NoWarn)", "IL2104", "IL3053"], noWarn.Value.Split(';'));
    }

    [Fact]
    public void ThePublishedBinaryLeavesEventSourceOutWhileDotnetBuildKeepsIt()
    {
        var aotOnly = XDocument.Load(Checkout.Combine("src", "Iam4Kube", "Iam4Kube.csproj"))
            .Descendants("PropertyGroup").Where(g => g.Attribute("Condition")?.Value == "'$(PublishAot)' == 'true'")
            .Elements().ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());

        // docs/operations.md ("Diagnostics") tells how to publish with it when dotnet-trace must attach.
        Assert.Equal("false", aotOnly.GetValueOrDefault("EventSourceSupport"));
        Assert.DoesNotContain("EventSourceSupport", Properties().Keys);
        Assert.Contains("-p:EventSourceSupport=true", File.ReadAllText(Checkout.Combine("docs", "operations.md")), StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Properties() =>
        XDocument.Load(Checkout.Combine("src", "Iam4Kube", "Iam4Kube.csproj"))
            .Descendants("PropertyGroup").Where(g => g.Attribute("Condition") is null)
            .Elements().Where(e => e.Attribute("Condition") is null)
            .ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());

    [GeneratedRegex(@"^publish Iam4Kube iam4kube\b", RegexOptions.Multiline)]
    private static partial Regex PublishesIam4Kube();

    [GeneratedRegex(@"^publish Ip2Service ip2service\b", RegexOptions.Multiline)]
    private static partial Regex PublishesIp2Service();
}
