using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Iam4Kube.Benchmarks;

internal sealed partial class BenchmarkRun
{
    /// <summary>Scenario 5: BenchmarkDotNet (in-process toolchain, MemoryDiagnoser) on the hot path.</summary>
    private void RunHotPathBenchmarks()
    {
        Console.WriteLine("[5] hot path: BenchmarkDotNet, in-process, MemoryDiagnoser");
        RunBenchmarkDotNet<HotPathBenchmarks>("5 hot path (BenchmarkDotNet)", name => name switch
        {
            "Lookup" => "0 B",
            "LookupAndCachedBody" or "LookupAndCachedExtendedBody" or "ResolveThroughTheStages" => "0 B beyond the response buffer",
            _ => "",
        }, name => name == "LookupAndSerialize" ? $"{name} (the code before CredentialsBody, for reference)" : name);
    }

    /// <summary>
    /// Runs one BenchmarkDotNet class (in-process toolchain, MemoryDiagnoser) and adds a row per benchmark: median
    /// time and bytes allocated per operation; <paramref name="targetOf"/> gives a row's allocation target, if any.
    /// </summary>
    private void RunBenchmarkDotNet<T>(string group, Func<string, string> targetOf, Func<string, string>? labelOf = null)
    {
        var job = (settings.Quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(NullLogger.Instance)
            .AddColumnProvider(BenchmarkDotNet.Columns.DefaultColumnProviders.Instance)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "iam4kube-bdn"))
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary);
        var summary = BenchmarkRunner.Run<T>(config);
        foreach (var report in summary.Reports)
        {
            var name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
            var ns = report.ResultStatistics?.Median ?? double.NaN;
            var bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? -1;
            var target = targetOf(name);
            table.Add(group, $"{labelOf?.Invoke(name) ?? name}: median time, allocated/op", $"{Format.Num(ns, "0.0")} ns, {bytes} B",
                target, target.Length == 0 ? null : bytes == 0);
        }
    }
}
