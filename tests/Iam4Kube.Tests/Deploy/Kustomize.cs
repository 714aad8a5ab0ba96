using System.Diagnostics;
using Xunit.Sdk;

namespace Iam4Kube.Tests.Deploy;

/// <summary>Renders a kustomization the way an operator does, with <c>kubectl kustomize</c>.</summary>
internal static class Kustomize
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Where kubectl is looked for: PATH, then the usual install locations.</summary>
    public static IEnumerable<string> DefaultSearchPath =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/local/bin"]);

    public static string Render(string directory) => Render(directory, DefaultSearchPath);

    public static string Render(string directory, IEnumerable<string> searchPath)
    {
        var searched = searchPath.ToList();
        var kubectl = searched.Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists)
            ?? throw new XunitException(
                $"kubectl is not installed (looked in {string.Join(", ", searched)}): the deploy tests render the "
                + "Kustomize overlays with `kubectl kustomize`, as operators do. Install it (Debian: apt-get install "
                + "kubernetes-client) and run the tests again.");

        var start = new ProcessStartInfo(kubectl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(directory);

        using var process = Process.Start(start) ?? throw new XunitException($"could not start {kubectl}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new XunitException($"`kubectl kustomize {directory}` did not finish within {Timeout.TotalSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new XunitException($"`kubectl kustomize {directory}` failed with exit code {process.ExitCode}:\n{stderr.Result}");
        }

        return stdout.Result;
    }
}
