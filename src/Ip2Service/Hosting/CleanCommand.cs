using System.Text.Json;
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
        if (!failed && backends.Contains(IptablesBackend.Nft))
        {
            await RemoveEmptyNftTablesAsync(command, logger);
        }
        return failed ? 1 : 0;
    }

    /// <summary>The filter and nat tables iptables-nft created for ip2service, empty now (NftEmptyTables): removed
    /// when the nft binary is there, else left (harmless: empty, policy accept) and said so.</summary>
    private static async Task RemoveEmptyNftTablesAsync(ExternalCommand command, ILogger logger)
    {
        try
        {
            switch (await NftEmptyTables.RemoveAsync(command, CancellationToken.None))
            {
                case null:
                    Log.NftMissing(logger);
                    break;
                case { Count: > 0 } removed:
                    Log.TablesRemoved(logger, string.Join(", ", removed));
                    break;
            }
        }
        catch (JsonException e)
        {
            Log.NftUnreadable(logger, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Clean ({Backend}, {Family}): {Outcome}")]
        public static partial void Cleaned(ILogger logger, string backend, string family, string outcome);

        [LoggerMessage(2, LogLevel.Information, "Clean ({Backend}): backend not available ({Error})")]
        public static partial void Unavailable(ILogger logger, string backend, string error);

        [LoggerMessage(3, LogLevel.Error, "Clean ({Backend}) failed: {Error}")]
        public static partial void Failed(ILogger logger, string backend, string error);

        [LoggerMessage(4, LogLevel.Information, "Clean (NFT): removed the empty nf_tables tables {Tables}")]
        public static partial void TablesRemoved(ILogger logger, string tables);

        [LoggerMessage(5, LogLevel.Information, "Clean (NFT): the nft program is not installed, so empty filter and nat tables (no rules, policy accept) may remain")]
        public static partial void NftMissing(ILogger logger);

        [LoggerMessage(6, LogLevel.Warning, "Clean (NFT): could not read nft's table listing ({Error}); empty tables left")]
        public static partial void NftUnreadable(ILogger logger, string error);
    }
}
