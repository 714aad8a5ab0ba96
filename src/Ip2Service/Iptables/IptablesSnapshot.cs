using System.Collections.Immutable;

namespace Ip2Service.Iptables;

/// <summary>The chains and rules of some tables, parsed from iptables-save output. <see cref="Chains"/> are
/// "table/chain", built-in ones included.</summary>
internal sealed record IptablesSnapshot(ImmutableArray<string> Chains, ImmutableArray<SavedRule> Rules)
{
    /// <summary>A node without any rules (what `render` assumes).</summary>
    public static IptablesSnapshot Empty { get; } = new([], []);

    public bool HasChain(string table, string chain) => Chains.Contains(table + "/" + chain);

    public IEnumerable<string> ChainsOf(string table) =>
        Chains.Where(c => c.StartsWith(table + "/", StringComparison.Ordinal)).Select(c => c[(table.Length + 1)..]);

    /// <summary>Rules of <paramref name="table"/>/<paramref name="chain"/> that jump to <paramref name="target"/>.</summary>
    public IEnumerable<SavedRule> JumpsTo(string table, string chain, string target) =>
        Rules.Where(r => r.Table == table && r.Chain == chain && r.Target == target);

    public static IptablesSnapshot Parse(string save)
    {
        var chains = ImmutableArray.CreateBuilder<string>();
        var rules = ImmutableArray.CreateBuilder<SavedRule>();
        string? table = null;
        foreach (var raw in save.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            if (line[0] == '*')
            {
                table = line[1..].Trim();
            }
            else if (line == "COMMIT")
            {
                table = null;
            }
            else if (table is not null && line[0] == ':')
            {
                var end = line.IndexOf(' ', StringComparison.Ordinal);
                chains.Add(table + "/" + (end < 0 ? line[1..] : line[1..end]));
            }
            else if (table is not null && line.StartsWith("-A ", StringComparison.Ordinal))
            {
                var rest = line[3..];
                var end = rest.IndexOf(' ', StringComparison.Ordinal);
                rules.Add(end < 0
                    ? new SavedRule(table, rest, "")
                    : new SavedRule(table, rest[..end], rest[(end + 1)..]));
            }
        }
        return new IptablesSnapshot(chains.ToImmutable(), rules.ToImmutable());
    }
}
