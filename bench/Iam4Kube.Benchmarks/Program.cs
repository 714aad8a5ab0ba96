using System.Globalization;

namespace Iam4Kube.Benchmarks;

/// <summary>
/// <c>Iam4Kube.Benchmarks run [--quick] [--iam4kube PATH] [--only 1,2,5] [--markdown FILE] [--published PATH]
/// [--iam4kube-env KEY=VALUE]</c> runs the scenarios of issues 6 and 15 and prints a table; <c>Iam4Kube.Benchmarks baseline PORT BODY_BYTES</c> is the bare Kestrel baseline
/// (started by <c>run</c> as a child process); <c>Iam4Kube.Benchmarks baseline-wake PORT BODY_BYTES KUBECONFIG</c> is scenario 4's
/// (<see cref="WakeBaselineServer"/>); <c>Iam4Kube.Benchmarks bdn ARGS</c> is BenchmarkDotNet's own command
/// line, for one class at a time (<c>bdn --filter '*TokenDoor*' --inProcess --job short</c>).
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args is ["baseline", var port, var bodyBytes])
        {
            await BaselineServer.RunAsync(int.Parse(port, CultureInfo.InvariantCulture), int.Parse(bodyBytes, CultureInfo.InvariantCulture));
            return 0;
        }

        if (args is ["baseline-wake", var wakePort, var wakeBodyBytes, var kubeconfig])
        {
            await WakeBaselineServer.RunAsync(int.Parse(wakePort, CultureInfo.InvariantCulture), int.Parse(wakeBodyBytes, CultureInfo.InvariantCulture), kubeconfig);
            return 0;
        }

        if (args is ["bdn", ..])
        {
            BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
            return 0;
        }

        if (args is not ["run", ..])
        {
            await Console.Error.WriteLineAsync("usage: Iam4Kube.Benchmarks run [--quick] [--iam4kube PATH/iam4kube.dll|PATH/iam4kube] [--only 1,2,...] [--markdown FILE] [--published OUT/iam4kube/iam4kube] [--iam4kube-env KEY=VALUE]...");
            return 2;
        }

        // The fakes (API server, STS) share this process with the load generators: with the default minimum of one
        // pool thread per CPU, a burst of client work would delay their handlers, and FakeSts stamps each call when
        // its handler runs, so a stall would bunch the timestamps of calls that arrived spread out.
        ThreadPool.SetMinThreads(64, 64);
        var settings = BenchSettings.Parse(args[1..]);
        var table = new ResultTable();
        await new BenchmarkRun(settings, table).RunAsync();
        Console.WriteLine();
        Console.WriteLine(table.ToMarkdown());
        if (settings.MarkdownFile is { } file)
        {
            await File.WriteAllTextAsync(file, table.ToMarkdown());
        }

        return 0;
    }
}
