using System.Collections.Immutable;
using Ip2Service.Iptables;
using Ip2Service.Rules;

namespace Ip2Service.Sync;

/// <summary>
/// Compares the node's live rules with what ip2service last wrote, to repair what others change (a firewall reload,
/// another agent's `iptables -F`, an operator's mistake). The reference is the read-back right after ip2service's own
/// write (<see cref="Fingerprint"/>): iptables-save prints rules in its own normal form, so comparing against that,
/// not against the rendered input, keeps an unchanged node from looking changed. A reason is a metric label.
/// <para>
/// Where our jump sits in a hook is not checked: kube-proxy and CNI agents also insert their jumps first, and two
/// agents each insisting on position 1 would rewrite forever. Our jumps match only the intercepted address and port,
/// and nothing ahead of them in a hook has been seen to accept that traffic; our own chains are compared exactly.
/// </para>
/// </summary>
internal static class RuleDrift
{
    public const string MissingChain = "missing_chain";
    public const string MissingJump = "missing_jump";
    public const string DuplicateJump = "duplicate_jump";
    public const string FlushedChain = "flushed_chain";
    public const string ForeignRule = "foreign_rule";
    public const string MissingRule = "missing_rule";
    public const string Reordered = "reordered";
    public const string RuleCount = "rule_count";

    /// <summary>Every reason, for documentation and tests.</summary>
    public static ImmutableArray<string> Reasons { get; } =
        [MissingChain, MissingJump, DuplicateJump, FlushedChain, ForeignRule, MissingRule, Reordered, RuleCount];

    /// <summary>The rules of ip2service's chains as iptables-save printed them, keyed "table/chain".</summary>
    internal sealed record Fingerprint(ImmutableDictionary<string, ImmutableArray<string>> Chains);

    public static Fingerprint Read(IReadOnlyList<TargetRules> targets, IptablesSnapshot live) =>
        new(targets
            .SelectMany(t => Hook.Tables.Select(table => (Key: Key(table, ChainNames.For(t.Target)), Table: table, Chain: ChainNames.For(t.Target))))
            .ToImmutableDictionary(
                c => c.Key,
                c => live.Rules.Where(r => r.Table == c.Table && r.Chain == c.Chain).Select(r => r.Spec).ToImmutableArray()));

    /// <summary>Right after a write: are the chains there, each hook jumping to them exactly once, with as many rules
    /// as were written? Null when so, else what is wrong.</summary>
    public static Problem? Verify(IReadOnlyList<TargetRules> targets, IptablesSnapshot live) =>
        Find(targets, expected: null, live);

    /// <summary>Null when the live rules are what ip2service last wrote (<paramref name="expected"/>), else the
    /// first difference found.</summary>
    public static Problem? Find(IReadOnlyList<TargetRules> targets, Fingerprint? expected, IptablesSnapshot live)
    {
        foreach (var rules in targets)
        {
            var chain = ChainNames.For(rules.Target);
            foreach (var table in Hook.Tables)
            {
                if (!live.HasChain(table, chain))
                {
                    return new Problem(MissingChain, $"{table}/{chain} ({rules.Target}) is gone");
                }
            }
            foreach (var hook in Hook.For(rules.Target))
            {
                var jumps = live.JumpsTo(hook.Table, hook.Chain, chain).Count();
                if (jumps != 1)
                {
                    return new Problem(jumps == 0 ? MissingJump : DuplicateJump, $"{hook.Table}/{hook.Chain} jumps to {chain} ({rules.Target}) {jumps} times");
                }
            }
            foreach (var table in Hook.Tables)
            {
                var specs = live.Rules.Where(r => r.Table == table && r.Chain == chain).Select(r => r.Spec).ToList();
                var problem = expected is null
                    ? CompareCount(table, chain, rules, specs)
                    : CompareRules(table, chain, expected.Chains.GetValueOrDefault(Key(table, chain), []), specs);
                if (problem is not null)
                {
                    return problem;
                }
            }
        }
        return null;
    }

    private static Problem? CompareCount(string table, string chain, TargetRules rules, List<string> specs)
    {
        var want = RuleRenderer.RuleCount(table, rules);
        return specs.Count == want ? null : new Problem(RuleCount, $"{table}/{chain} holds {specs.Count} rules, {want} written");
    }

    private static Problem? CompareRules(string table, string chain, ImmutableArray<string> expected, List<string> specs)
    {
        if (expected.SequenceEqual(specs))
        {
            return null;
        }
        var where = $"{table}/{chain}";
        if (specs.Count == 0)
        {
            return new Problem(FlushedChain, $"{where} is empty, {expected.Length} rules expected");
        }
        if (specs.FirstOrDefault(s => !expected.Contains(s)) is { } foreign)
        {
            return new Problem(ForeignRule, $"{where} holds a rule ip2service did not write: {foreign}");
        }
        if (expected.FirstOrDefault(s => !specs.Contains(s)) is { } missing)
        {
            return new Problem(MissingRule, $"{where} lacks: {missing}");
        }
        if (specs.Count != expected.Length)
        {
            return new Problem(ForeignRule, $"{where} holds {specs.Count} rules where ip2service wrote {expected.Length}");
        }
        return new Problem(Reordered, $"{where} holds ip2service's rules in another order");
    }

    private static string Key(string table, string chain) => table + "/" + chain;

    /// <summary>What differs: <see cref="Reason"/> is a metric label, <see cref="Detail"/> goes to the log.</summary>
    internal sealed record Problem(string Reason, string Detail);
}
