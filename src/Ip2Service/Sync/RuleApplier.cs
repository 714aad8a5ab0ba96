using Ip2Service.Iptables;
using Ip2Service.Rules;

namespace Ip2Service.Sync;

/// <summary>Makes the node's rules say what an <see cref="EndpointSet"/> says: reads the current tables (to know
/// which jumps exist), renders, and writes everything in one iptables-restore.</summary>
internal sealed partial class RuleApplier(IIptables iptables, InterceptTarget target, ILogger<RuleApplier> logger)
{
    public InterceptTarget Target { get; } = target;

    public IptablesBackend Backend => iptables.Backend;

    public async Task ApplyAsync(EndpointSet set, CancellationToken cancellationToken)
    {
        var current = await iptables.SaveAsync(cancellationToken);
        var input = RuleRenderer.Render(Target, set, current);
        Log.Restoring(logger, iptables.Backend, input);
        // Never abandon a write halfway for shutdown: the restore is short, and finishing it leaves a known state.
        await iptables.RestoreAsync(input, CancellationToken.None);
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
        Log.Restoring(logger, iptables.Backend, input);
        await iptables.RestoreAsync(input, cancellationToken);
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "iptables-restore --noflush ({Backend}) input:\n{Input}")]
        public static partial void Restoring(ILogger logger, IptablesBackend backend, string input);
    }
}
