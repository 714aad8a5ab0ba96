using System.Diagnostics;
using System.Text.Json;
using Iam4Kube.Testing;
using Xunit.Sdk;

namespace Iam4Kube.Tests.Deploy;

/// <summary>Renders a kustomization the way an operator does, with <c>kubectl kustomize</c>.</summary>
internal static class Kustomize
{
    /// <summary>
    /// The oldest kubectl whose built-in kustomize reads the overlays: the base uses <c>labels</c>, added in
    /// kustomize 4.1, which kubectl bundles from 1.22 on (Debian 12's kubectl 1.20 fails on the overlays).
    /// docs/operations.md states the same minimum.
    /// </summary>
    public static readonly Version MinimumKubectl = new(1, 22);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Where kubectl is looked for: the pinned copy scripts/fetch-tools.sh keeps in .tools/ (test.sh fetches it),
    /// then PATH and the usual install locations.
    /// </summary>
    public static IEnumerable<string> DefaultSearchPath =>
        new[] { Checkout.Combine(".tools", "current", "kubectl") }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            .Concat(["/usr/bin", "/usr/local/bin"]);

    private static readonly Lazy<string> DefaultKubectl = new(() => Find(DefaultSearchPath));

    public static string Render(string directory) => Render(directory, DefaultKubectl.Value);

    public static string Render(string directory, IEnumerable<string> searchPath) => Render(directory, Find(searchPath));

    /// <summary>The first kubectl on the search path, refused (not skipped, not used) when it is too old.</summary>
    public static string Find(IEnumerable<string> searchPath)
    {
        var searched = searchPath.ToList();
        var kubectl = searched.Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists)
            ?? throw new XunitException(
                $"kubectl is not installed (looked in {string.Join(", ", searched)}): the deploy tests render the "
                + "Kustomize overlays with `kubectl kustomize`, as operators do. Run ./scripts/fetch-tools.sh (test.sh "
                + $"does) to fetch the pinned kubectl into .tools/, or install kubectl {MinimumKubectl} or newer.");

        var version = ClientVersion(kubectl);
        return version >= MinimumKubectl
            ? kubectl
            : throw new XunitException(
                $"{kubectl} is kubectl {version}; the overlays need kubectl {MinimumKubectl} or newer. Run "
                + "./scripts/fetch-tools.sh (test.sh does) to fetch the pinned kubectl into .tools/.");
    }

    private static Version ClientVersion(string kubectl)
    {
        using var json = JsonDocument.Parse(Run(kubectl, ["version", "--client", "-o", "json"]));
        var client = json.RootElement.GetProperty("clientVersion");
        // Vendor builds add a suffix to the minor version ("27+").
        var minor = client.GetProperty("minor").GetString()!.TrimEnd('+');
        return new Version(int.Parse(client.GetProperty("major").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(minor, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string Render(string directory, string kubectl) => Run(kubectl, ["kustomize", directory]);

    private static string Run(string kubectl, string[] arguments)
    {
        var start = new ProcessStartInfo(kubectl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var command = $"`kubectl {string.Join(' ', arguments)}`";
        using var process = Process.Start(start) ?? throw new XunitException($"could not start {kubectl}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new XunitException($"{command} did not finish within {Timeout.TotalSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new XunitException($"{command} failed with exit code {process.ExitCode}:\n{stderr.Result}");
        }

        return stdout.Result;
    }
}
