using Iam4Kube.Testing;
using System.Text.RegularExpressions;

namespace Iam4Kube.Tests.Deploy;

/// <summary>The Dockerfile, build/publish.sh and the workloads' commands agree on where the binaries are.</summary>
public sealed partial class ImageTests
{
    [Fact]
    public void WorkloadCommandsRunTheBinariesTheImageInstalls()
    {
        var dockerfile = File.ReadAllText(Checkout.Combine("Dockerfile"));
        var publish = File.ReadAllText(Checkout.Combine("build", "publish.sh"));
        var manifests = Manifests.Load(Manifests.BaseFiles);

        // publish.sh OUT puts each binary at OUT/<name>/<name>; the image copies OUT to /app.
        Assert.Matches(PublishesIntoOut(), dockerfile);
        Assert.Matches(CopiesOutToApp(), dockerfile);
        Assert.Matches(new Regex(@"^publish Iam4Kube iam4kube\b", RegexOptions.Multiline), publish);
        Assert.Matches(new Regex(@"^publish Ip2Service ip2service\b", RegexOptions.Multiline), publish);
        Assert.Equal(["/app/iam4kube/iam4kube"], manifests.Iam4KubeContainer.Command);
        Assert.Equal(["/app/ip2service/ip2service"], manifests.Ip2ServiceContainer.Command);
    }

    [Fact]
    public void ImageRunsAsTheNonRootUserTheDeploymentExpects()
    {
        var dockerfile = File.ReadAllText(Checkout.Combine("Dockerfile"));
        var pod = Manifests.Load(Manifests.BaseFiles).Iam4KubeDeployment.Spec.Template.Spec;

        var user = Assert.Single(UserLine().Matches(dockerfile)).Groups["uid"].Value;
        Assert.Equal(pod.SecurityContext.RunAsUser?.ToString(System.Globalization.CultureInfo.InvariantCulture), user);
        Assert.Matches(new Regex(@"apt-get install -y --no-install-recommends iptables\b"), dockerfile);
    }

    [GeneratedRegex(@"^RUN \./build/publish\.sh /out\b", RegexOptions.Multiline)]
    private static partial Regex PublishesIntoOut();

    [GeneratedRegex(@"^COPY --from=build /out /app\s*$", RegexOptions.Multiline)]
    private static partial Regex CopiesOutToApp();

    [GeneratedRegex(@"^USER (?<uid>[0-9]+)(:[0-9]+)?\s*$", RegexOptions.Multiline)]
    private static partial Regex UserLine();
}
