using Iam4Kube.Shared;
using Ip2Service.Hosting;
using Ip2Service.Iptables;

namespace Ip2Service;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        CommandLineRequest request;
        try
        {
            request = CommandLineParser.Parse(args);
        }
        catch (CommandLineException e)
        {
            await Console.Error.WriteLineAsync($"ip2service: {e.Message}\nRun `ip2service --help` for usage.");
            return CommandLineConvention.UsageExitCode;
        }
        return request switch
        {
            HelpRequest => Usage.Print(Console.Out),
            VersionRequest => Usage.PrintVersion(Console.Out),
            RunOptions run => await RunCommand.RunAsync(run),
            RulesOptions { Apply: false } render => RulesCommand.Render(render, Console.Out),
            RulesOptions apply => await RulesCommand.ApplyAsync(apply, ExternalCommand.Direct),
            CleanOptions clean => await CleanCommand.RunAsync(clean, ExternalCommand.Direct),
            _ => throw new InvalidOperationException($"unhandled request {request}"),
        };
    }
}
