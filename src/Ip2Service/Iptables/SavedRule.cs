namespace Ip2Service.Iptables;

/// <summary>One `-A CHAIN SPEC` line of iptables-save output. <see cref="Spec"/> is the text after the chain name,
/// exactly as iptables-save printed it, so `-D CHAIN SPEC` deletes precisely this rule.</summary>
internal sealed record SavedRule(string Table, string Chain, string Spec)
{
    /// <summary>The chain this rule jumps or goes to (`-j X` / `-g X`), or null.</summary>
    public string? Target { get; } = FindTarget(Spec);

    private static string? FindTarget(string spec)
    {
        var tokens = RuleTokenizer.Split(spec);
        for (var i = 0; i < tokens.Count - 1; i++)
        {
            if (tokens[i] is "-j" or "--jump" or "-g" or "--goto")
            {
                return tokens[i + 1];
            }
        }
        return null;
    }
}
