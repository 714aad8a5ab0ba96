using Ip2Service.Iptables;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Serilog.Extensions.Logging;

namespace Ip2Service.Hosting;

/// <summary>`ip2service clean`: with `auto`, cleans every backend that works (ip2service's chains can only be
/// where some ip2service wrote them, and a stale copy in the other backend would still be evaluated).</summary>
internal static partial class CleanCommand
{
    public static async Task<int> RunAsync(CleanOptions options, ExternalCommand command)
    {
        using var serilog = LoggingSetup.Create(options.Log);
        using var loggerFactory = new SerilogLoggerFactory(serilog);
        var logger = loggerFactory.CreateLogger(typeof(CleanCommand).FullName!);
        IptablesBackend[] backends = options.Backend switch
        {
            BackendChoice.Nft => [IptablesBackend.Nft],
            BackendChoice.Legacy => [IptablesBackend.Legacy],
            _ => [IptablesBackend.Nft, IptablesBackend.Legacy],
        };
        var failed = false;
        foreach (var (backend, family) in backends.SelectMany(b => new[] { (b, IpFamily.V4), (b, IpFamily.V6) }))
        {
            try
            {
                var removed = await RuleApplier.CleanAsync(new IptablesCli(backend, command, family), logger, CancellationToken.None);
                Log.Cleaned(logger, backend.ToString().ToUpperInvariant(), IpFamilies.Label(family), removed ? "removed ip2service's chains and jumps" : "nothing to remove");
            }
            catch (IptablesCommandException e) when (options.Backend == BackendChoice.Auto && e.NotInstalled)
            {
                Log.Unavailable(logger, backend.ToString().ToUpperInvariant(), e.Message);
            }
            catch (IptablesCommandException e)
            {
                Log.Failed(logger, backend.ToString().ToUpperInvariant(), e.Message);
                failed = true;
            }
        }
        return failed ? 1 : 0;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Clean ({Backend}, {Family}): {Outcome}")]
        public static partial void Cleaned(ILogger logger, string backend, string family, string outcome);

        [LoggerMessage(2, LogLevel.Information, "Clean ({Backend}): backend not available ({Error})")]
        public static partial void Unavailable(ILogger logger, string backend, string error);

        [LoggerMessage(3, LogLevel.Error, "Clean ({Backend}) failed: {Error}")]
        public static partial void Failed(ILogger logger, string backend, string error);
    }
}
