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

        Assert.Matches(PublishesIam4KubeWithNativeAot(), publish);
        Assert.Matches(RunsTheIam4KubeBinary(), publish);
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

    private static Dictionary<string, string> Properties() =>
        XDocument.Load(Checkout.Combine("src", "Iam4Kube", "Iam4Kube.csproj"))
            .Descendants("PropertyGroup").Elements().Where(e => e.Attribute("Condition") is null)
            .ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());

    [GeneratedRegex(@"^publish Iam4Kube iam4kube -p:PublishAot=true\b", RegexOptions.Multiline)]
    private static partial Regex PublishesIam4KubeWithNativeAot();

    [GeneratedRegex(@"""\$out/iam4kube/iam4kube"" --version\b")]
    private static partial Regex RunsTheIam4KubeBinary();
}
