using Ip2Service.Iptables;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Serilog.Extensions.Logging;

namespace Ip2Service.Hosting;

/// <summary>`ip2service render` and `ip2service apply`.</summary>
internal static partial class RulesCommand
{
    public static int Render(RulesOptions options, TextWriter output)
    {
        output.Write(RuleRenderer.Render(options.Intercept, options.EndpointSet, IptablesSnapshot.Empty));
        return 0;
    }

    public static async Task<int> ApplyAsync(RulesOptions options, ExternalCommand command)
    {
        using var serilog = LoggingSetup.Create(options.Log);
        using var loggerFactory = new SerilogLoggerFactory(serilog);
        var logger = loggerFactory.CreateLogger(typeof(RulesCommand).FullName!);
        try
        {
            var backend = await BackendSelector.SelectAsync(options.Backend, command, CancellationToken.None);
            var applier = new RuleApplier(new IptablesCli(backend.Backend, command, options.Intercept.Family), loggerFactory.CreateLogger<RuleApplier>());
            await applier.ApplyAsync([new TargetRules(options.Intercept, options.EndpointSet)], CancellationToken.None);
            Log.Applied(logger, options.Intercept.ToString(), backend.Backend.ToString().ToUpperInvariant(), options.EndpointSet.ToString());
            return 0;
        }
        catch (IptablesCommandException e)
        {
            Log.Failed(logger, e.Message);
            return 1;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Applied the rules for {Target} ({Backend}): {Set}")]
        public static partial void Applied(ILogger logger, string target, string backend, string set);

        [LoggerMessage(2, LogLevel.Error, "Applying the rules failed: {Error}")]
        public static partial void Failed(ILogger logger, string error);
    }
}
