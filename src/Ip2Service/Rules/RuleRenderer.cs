using System.Globalization;
using System.Text;
using Ip2Service.Iptables;

namespace Ip2Service.Rules;

/// <summary>
/// Renders the iptables-restore input (for `iptables-restore --noflush`, or ip6tables-restore for IPv6 targets)
/// that makes the node's rules match an <see cref="EndpointSet"/> per intercept target. Pure: the same targets,
/// sets and current rules give the same text, byte for byte. All targets given must be of one address family.
/// <para>
/// Declaring ip2service's chain (<c>:CHAIN - [0:0]</c>) empties it and the rules that follow refill it inside the
/// same table commit, so no packet ever sees a half-written chain. The filter table comes first: on a fresh node the
/// fail-closed REJECT is live before any DNAT, and during a change the REJECT is already there.
/// </para>
/// </summary>
internal static class RuleRenderer
{
    public static string Render(InterceptTarget target, EndpointSet set, IptablesSnapshot current) =>
        Render([new TargetRules(target, set)], current);

    public static string Render(IReadOnlyList<TargetRules> targets, IptablesSnapshot current)
    {
        var output = new StringBuilder();
        foreach (var (target, set) in targets)
        {
            Line(output, $"# {ChainNames.CommentPrefix}{target} -> {Count(set.Ready.Length, "ready endpoint")}, {Count(set.Excluded.Length, "excluded source")}");
        }

        Line(output, "*filter");
        foreach (var (target, set) in targets)
        {
            var chain = ChainNames.For(target);
            Line(output, $":{chain} - [0:0]");
            Line(output, ConntrackAnchor(chain));
            AppendExclusions(output, chain, target, set);
            Line(output, $"-A {chain} -p tcp -m comment --comment \"{ChainNames.CommentPrefix}fail closed: {target} not redirected to an endpoint\" -j REJECT --reject-with tcp-reset");
            AppendJumps(output, "filter", chain, target, current);
        }
        Line(output, "COMMIT");

        Line(output, "*nat");
        foreach (var (target, set) in targets)
        {
            var chain = ChainNames.For(target);
            Line(output, $":{chain} - [0:0]");
            AppendExclusions(output, chain, target, set);
            var n = set.Ready.Length;
            for (var i = 0; i < n; i++)
            {
                var endpoint = set.Ready[i];
                var balance = i < n - 1
                    ? $" -m statistic --mode random --probability {Probability(n - i)}"
                    : "";
                Line(output, $"-A {chain} -p tcp -m comment --comment \"{ChainNames.CommentPrefix}{target} to {endpoint} ({i + 1} of {n})\"{balance} -j DNAT --to-destination {endpoint}");
            }
            AppendJumps(output, "nat", chain, target, current);
        }
        Line(output, "COMMIT");
        return output.ToString();
    }

    /// <summary>How many rules ip2service's chain of <paramref name="table"/> holds for this set: the conntrack
    /// anchor and, after one RETURN per excluded source, the REJECT (filter), or one RETURN per excluded source and
    /// one DNAT per ready endpoint (nat). The read-back after a write
    /// checks the live chains against this.</summary>
    public static int RuleCount(string table, TargetRules rules) =>
        Exclusions(rules.Target, rules.Set).Count() + (table == "filter" ? 2 : rules.Set.Ready.Length);

    /// <summary>
    /// A rule with no target (it only counts packets, so it changes no verdict) whose conntrack match keeps the
    /// kernel's connection tracking on for this address family. The kernel hooks connection tracking into a
    /// network namespace only while some rule of that family needs it, and NAT of an established connection's
    /// later packets happens through those hooks. If ip2service's DNAT rules were the last such rule (an
    /// IPv6-only metadata path on a node whose other agents write no IPv6 NAT or conntrack rule) and someone
    /// flushed our nat chain, the hooks would go until the repair: the endpoint's answers on connections already
    /// redirected would leave with the endpoint's own address, the pod would reset them, and its SDK would wait for
    /// its timeout. Measured with both backends: a connection redirected before the flush got no answer without
    /// this rule and its answer with it (RuleSyncerInNetworkNamespacesTests).
    /// </summary>
    public static string ConntrackAnchor(string chain) =>
        $"-A {chain} -m conntrack --ctstate NEW -m comment --comment \"{ChainNames.CommentPrefix}keeps connection tracking on, so redirected connections keep their address translation\"";

    /// <summary>The rule that sends intercepted traffic from a hook into ip2service's chain, as iptables-save
    /// prints it.</summary>
    public static string JumpSpec(InterceptTarget target, string chain) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"-d {target.Address}{IpFamilies.HostPrefix(target.Family)} -p tcp -m tcp --dport {target.Port} -m comment --comment \"{ChainNames.CommentPrefix}intercept {target}\" -j {chain}");

    /// <summary>The probability for the rule that takes 1 of <paramref name="remaining"/> endpoints still to
    /// choose from: rules for N endpoints carry 1/N, 1/(N-1), ..., 1/2, and the last is unconditional, so each
    /// endpoint gets exactly 1/N of connections. Ten decimals, as kube-proxy writes them.</summary>
    public static string Probability(int remaining) =>
        (1.0 / remaining).ToString("0.0000000000", CultureInfo.InvariantCulture);

    private static void AppendExclusions(StringBuilder output, string chain, InterceptTarget target, EndpointSet set)
    {
        foreach (var source in Exclusions(target, set))
        {
            Line(output, $"-A {chain} -s {source}{IpFamilies.HostPrefix(target.Family)} -m comment --comment \"{ChainNames.CommentPrefix}{source} keeps the real {target}\" -j RETURN");
        }
    }

    private static IEnumerable<System.Net.IPAddress> Exclusions(InterceptTarget target, EndpointSet set) =>
        set.Excluded.Where(s => IpFamilies.Of(s) == target.Family);

    /// <summary>Each hook must jump to the chain exactly once; a missing jump is inserted first in the hook, and
    /// duplicates (say, from a crash between two older writes) are deleted by their exact saved text.</summary>
    private static void AppendJumps(StringBuilder output, string table, string chain, InterceptTarget target, IptablesSnapshot current)
    {
        foreach (var hook in Hook.For(target).Where(h => h.Table == table))
        {
            var existing = current.JumpsTo(table, hook.Chain, chain).ToList();
            if (existing.Count == 1)
            {
                continue;
            }
            foreach (var rule in existing)
            {
                Line(output, $"-D {hook.Chain} {rule.Spec}");
            }
            Line(output, $"-I {hook.Chain} 1 {JumpSpec(target, chain)}");
        }
    }

    private static string Count(int count, string noun) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {noun}{(count == 1 ? "" : "s")}");

    private static void Line(StringBuilder output, string line) => output.Append(line).Append('\n');
}
