using System.Text;
using System.Text.Json;
using Ip2Service.Rules;

namespace Ip2Service.Iptables;

/// <summary>
/// What `clean` leaves on nf_tables: iptables-nft-restore creates the filter and nat tables (with their base chains)
/// of the <c>ip</c> and <c>ip6</c> families when ip2service first writes to them, and removing ip2service's chains
/// leaves them empty. iptables cannot delete a table; the <c>nft</c> binary can, so this runs only where it is
/// installed. A table goes only when it is empty in effect: nothing but base chains, each without rules and with
/// policy accept (a table someone else uses has rules, or a drop policy, and stays). The deletion is one nft
/// transaction that deletes each base chain before the table: the kernel refuses to delete a chain that holds a rule,
/// so a rule added between the check and the deletion makes the whole transaction fail and nothing changes.
/// </summary>
internal static class NftEmptyTables
{
    private static readonly string[] Families = ["ip", "ip6"];

    /// <summary>Removes the empty tables and returns them ("ip filter", ...); null when <c>nft</c> is not installed.</summary>
    public static async Task<IReadOnlyList<string>?> RemoveAsync(ExternalCommand command, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (var family in Families)
        {
            foreach (var table in Hook.Tables)
            {
                string listing;
                try
                {
                    listing = await command.RunAsync("nft", ["-j", "list", "table", family, table], null, cancellationToken);
                }
                catch (IptablesCommandException e) when (e.NotInstalled)
                {
                    return null;
                }
                catch (IptablesCommandException)
                {
                    // No such table.
                    continue;
                }

                if (BaseChainsOfEmptyTable(listing) is not { } chains)
                {
                    continue;
                }

                var script = new StringBuilder();
                foreach (var chain in chains)
                {
                    script.Append("delete chain ").Append(family).Append(' ').Append(table).Append(' ').Append(chain).Append('\n');
                }
                script.Append("delete table ").Append(family).Append(' ').Append(table).Append('\n');
                try
                {
                    await command.RunAsync("nft", ["-f", "-"], script.ToString(), cancellationToken);
                    removed.Add($"{family} {table}");
                }
                catch (IptablesCommandException)
                {
                    // Someone added a rule meanwhile: the table is in use, and stays.
                }
            }
        }
        return removed;
    }

    /// <summary>The base chains of a table that is empty in effect (see the class), or null when it is not.</summary>
    internal static IReadOnlyList<string>? BaseChainsOfEmptyTable(string nftJson)
    {
        using var document = JsonDocument.Parse(nftJson);
        var chains = new List<string>();
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            var (kind, value) = item.EnumerateObject().Select(p => (p.Name, p.Value)).Single();
            switch (kind)
            {
                case "metainfo" or "table":
                    continue;
                case "chain" when value.TryGetProperty("hook", out _)
                    && value.TryGetProperty("policy", out var policy) && policy.GetString() == "accept":
                    chains.Add(value.GetProperty("name").GetString()!);
                    continue;
                default:
                    // A rule, a user chain, a set, a drop policy: someone's table.
                    return null;
            }
        }
        return chains;
    }
}
