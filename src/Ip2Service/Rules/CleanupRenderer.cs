using System.Text;
using Ip2Service.Iptables;

namespace Ip2Service.Rules;

/// <summary>
/// Renders the iptables-restore input that removes everything ip2service added — every jump to a chain named
/// <see cref="ChainNames.Prefix"/>*, then those chains — and nothing else. Returns null when there is nothing to
/// remove. The nat table goes first: between the two table commits, intercepted traffic is rejected, never half-routed.
/// </summary>
internal static class CleanupRenderer
{
    public static string? Render(IptablesSnapshot current)
    {
        var output = new StringBuilder();
        foreach (var table in Hook.Tables.Reverse())
        {
            var owned = current.ChainsOf(table).Where(ChainNames.IsOwned).ToList();
            var jumps = current.Rules
                .Where(r => r.Table == table && !ChainNames.IsOwned(r.Chain) && r.Target is not null && ChainNames.IsOwned(r.Target))
                .ToList();
            if (owned.Count == 0 && jumps.Count == 0)
            {
                continue;
            }
            output.Append('*').Append(table).Append('\n');
            foreach (var rule in jumps)
            {
                output.Append("-D ").Append(rule.Chain).Append(' ').Append(rule.Spec).Append('\n');
            }
            foreach (var chain in owned)
            {
                output.Append("-F ").Append(chain).Append('\n');
            }
            foreach (var chain in owned)
            {
                output.Append("-X ").Append(chain).Append('\n');
            }
            output.Append("COMMIT\n");
        }
        return output.Length == 0 ? null : output.ToString();
    }
}
