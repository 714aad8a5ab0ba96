using Iam4Kube.Hosting;
using Iam4Kube.Shared;
using Serilog;

namespace Iam4Kube;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args is ["explain", .. var explainArgs])
        {
            return await Explain.ExplainCommand.RunAsync(explainArgs, Console.Out, Console.Error);
        }

        var parsed = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
        if (parsed.ShowHelp)
        {
            await Console.Out.WriteLineAsync(CommandLine.Usage);
            return 0;
        }

        if (parsed.ShowVersion)
        {
            await Console.Out.WriteLineAsync(CommandLineConvention.VersionLine("iam4kube"));
            return 0;
        }

        if (parsed.Options is not { } options)
        {
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"iam4kube: {error}");
            }

            await Console.Error.WriteLineAsync("Run 'iam4kube --help' for usage.");
            return CommandLineConvention.UsageExitCode;
        }

        var problems = Preflight.Problems(options, Environment.GetEnvironmentVariable, InClusterProbe.ForThisProcess(Environment.GetEnvironmentVariable));
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"iam4kube: {problem}");
            }

            return CommandLineConvention.UsageExitCode;
        }

        Log.Logger = Logging.Create(options.LogFormat == LogFormat.Json, options.LogLevel);
        try
        {
            var app = Iam4KubeApplication.Build(options, Log.Logger);
            await app.RunAsync();
            return 0;
        }
        catch (Exception e)
        {
            Log.Fatal(e, "iam4kube failed: {Reason}", e.Message);
            return 1;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }
}
