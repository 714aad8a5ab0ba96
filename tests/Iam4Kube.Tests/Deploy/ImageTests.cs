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

    [Fact]
    public void TheRestoreLayerHasEveryProjectTheBinariesReference()
    {
        var dockerfile = File.ReadAllText(Checkout.Combine("Dockerfile"));
        var restore = dockerfile.IndexOf("RUN dotnet restore ", StringComparison.Ordinal);
        var projects = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>(["src/Iam4Kube/Iam4Kube.csproj", "src/Ip2Service/Ip2Service.csproj"]);
        while (pending.TryDequeue(out var project))
        {
            if (!projects.Add(project))
            {
                continue;
            }
            var folder = Path.GetDirectoryName(project)!;
            foreach (var reference in System.Xml.Linq.XDocument.Load(Checkout.Combine(project.Split('/'))).Descendants("ProjectReference"))
            {
                var path = Path.GetRelativePath(Checkout.Root, Path.GetFullPath(Path.Combine(Checkout.Root, folder, reference.Attribute("Include")!.Value)));
                pending.Enqueue(path.Replace('\\', '/'));
            }
        }

        // Restoring a project whose referenced project is not there yet fails the layer (or restores without it).
        Assert.True(restore > 0, "the Dockerfile restores before copying the sources");
        Assert.All(projects, project =>
        {
            var copy = dockerfile.IndexOf($"COPY {project} {Path.GetDirectoryName(project)}/", StringComparison.Ordinal);
            Assert.True(copy >= 0 && copy < restore, $"{project} is not copied before `dotnet restore`");
        });
    }

    [GeneratedRegex(@"^RUN \./build/publish\.sh /out\b", RegexOptions.Multiline)]
    private static partial Regex PublishesIntoOut();

    [GeneratedRegex(@"^COPY --from=build /out /app\s*$", RegexOptions.Multiline)]
    private static partial Regex CopiesOutToApp();

    [GeneratedRegex(@"^USER (?<uid>[0-9]+)(:[0-9]+)?\s*$", RegexOptions.Multiline)]
    private static partial Regex UserLine();
}
