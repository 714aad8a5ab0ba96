using System.Text;

namespace Ip2Service.Iptables;

/// <summary>Splits an iptables-save rule line into arguments the way iptables-restore does: whitespace separates,
/// double quotes group (a comment such as "ip2service: -j X" is one argument), backslash escapes.</summary>
internal static class RuleTokenizer
{
    public static IReadOnlyList<string> Split(string line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var inQuotes = false;
        var inToken = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
                inToken = true;
            }
            else if (c == '"')
            {
                inQuotes = !inQuotes;
                inToken = true;
            }
            else if (char.IsWhiteSpace(c) && !inQuotes)
            {
                if (inToken)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                    inToken = false;
                }
            }
            else
            {
                current.Append(c);
                inToken = true;
            }
        }
        if (inToken)
        {
            tokens.Add(current.ToString());
        }
        return tokens;
    }
}
