using System.Text.RegularExpressions;
using System.Xml.Linq;
using Iam4Kube.Testing;

namespace Iam4Kube.Tests.Deploy;

/// <summary>
/// The build the image ships (build/publish.sh) is the one docs/benchmarks.md measured (issue 15): iam4kube's own
/// assemblies and its packages precompiled (ReadyToRun), JIT tiering and dynamic PGO left on, workstation GC.
/// </summary>
public sealed partial class PublishSettingsTests
{
    [Fact]
    public void Iam4KubeIsPublishedReadyToRunWithTieringAndWorkstationGc()
    {
        var publish = File.ReadAllText(Checkout.Combine("build", "publish.sh"));
        var properties = XDocument.Load(Checkout.Combine("src", "Iam4Kube", "Iam4Kube.csproj"))
            .Descendants("PropertyGroup").Elements().ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());

        Assert.Matches(PublishesIam4KubeReadyToRun(), publish);
        Assert.Equal("false", properties.GetValueOrDefault("ServerGarbageCollection"));
        // Measured (scenario 8): without tiering start-up takes 80% more CPU; dynamic PGO costs nothing measurable at
        // start and is kept for the warm path. Neither is set, so the runtime's defaults (both on) apply.
        Assert.DoesNotContain("TieredCompilation", properties.Keys);
        Assert.DoesNotContain("TieredPGO", properties.Keys);
    }

    [GeneratedRegex(@"^publish Iam4Kube iam4kube -p:PublishReadyToRun=true\b", RegexOptions.Multiline)]
    private static partial Regex PublishesIam4KubeReadyToRun();
}
