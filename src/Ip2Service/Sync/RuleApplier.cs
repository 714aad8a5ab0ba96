using Ip2Service.Iptables;
using Ip2Service.Rules;

namespace Ip2Service.Sync;

/// <summary>Makes one address family's rules say what the targets' <see cref="EndpointSet"/>s say: reads the current
/// tables (to know which jumps exist), renders, writes everything in one iptables-restore, and reads the tables back
/// to verify the rules are live (a write that returned 0 but left no rule behind is a failure). The read-back is also
/// what later checks compare the live rules against.</summary>
internal sealed partial class RuleApplier(IIptables iptables, ILogger<RuleApplier> logger)
{
    private RuleDrift.Fingerprint? _written;

    public IptablesBackend Backend => iptables.Backend;

    public IpFamily Family => iptables.Family;

    public async Task ApplyAsync(IReadOnlyList<TargetRules> targets, CancellationToken cancellationToken)
    {
        var current = await iptables.SaveAsync(cancellationToken);
        var input = RuleRenderer.Render(targets, current);
        Log.Restoring(logger, iptables.Backend, iptables.Family, input);
        // Never abandon a write halfway for shutdown: the restore is short, and finishing it leaves a known state.
        _written = null;
        await iptables.RestoreAsync(input, CancellationToken.None);
        var after = await iptables.SaveAsync(CancellationToken.None);
        if (RuleDrift.Verify(targets, after) is { } problem)
        {
            throw new IptablesCommandException($"the rules read back after iptables-restore are not what was written: {problem.Detail}");
        }
        _written = RuleDrift.Read(targets, after);
    }

    /// <summary>Reads the live rules and compares them with the last write; null when nothing changed.</summary>
    public async Task<RuleDrift.Problem?> CheckAsync(IReadOnlyList<TargetRules> targets, CancellationToken cancellationToken)
    {
        var live = await iptables.SaveAsync(cancellationToken);
        return RuleDrift.Find(targets, _written, live);
    }

    /// <summary>Removes every chain and jump ip2service made (for any intercept target). Returns false when there
    /// was nothing to remove.</summary>
    public static async Task<bool> CleanAsync(IIptables iptables, ILogger logger, CancellationToken cancellationToken)
    {
        var current = await iptables.SaveAsync(cancellationToken);
        var input = CleanupRenderer.Render(current);
        if (input is null)
        {
            return false;
        }
        Log.Restoring(logger, iptables.Backend, iptables.Family, input);
        await iptables.RestoreAsync(input, cancellationToken);
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "iptables-restore --noflush ({Backend}, {Family}) input:\n{Input}")]
        public static partial void Restoring(ILogger logger, IptablesBackend backend, IpFamily family, string input);
    }
}
