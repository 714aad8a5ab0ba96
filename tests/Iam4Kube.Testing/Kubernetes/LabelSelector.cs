using System.Text.RegularExpressions;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// A <c>labelSelector</c> query parameter as kube-apiserver parses it: comma-separated requirements
/// <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k in (a,b)</c>, <c>k notin (a,b)</c>, <c>k</c> and <c>!k</c>.
/// </summary>
internal sealed partial class LabelSelector
{
    private readonly IReadOnlyList<Requirement> _requirements;

    private LabelSelector(IReadOnlyList<Requirement> requirements) => _requirements = requirements;

    private enum Operator
    {
        Equals,
        NotEquals,
        In,
        NotIn,
        Exists,
        DoesNotExist,
    }

    public static LabelSelector? Parse(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return null;
        }

        var requirements = new List<Requirement>();
        foreach (var part in SplitTopLevel(selector))
        {
            requirements.Add(ParseRequirement(part.Trim(), selector));
        }

        return new LabelSelector(requirements);
    }

    public bool Matches(IDictionary<string, string>? labels)
    {
        foreach (var requirement in _requirements)
        {
            string? value = null;
            var present = labels is not null && labels.TryGetValue(requirement.Key, out value);
            var ok = requirement.Operator switch
            {
                Operator.Equals => present && requirement.Values.Contains(value!),
                Operator.In => present && requirement.Values.Contains(value!),
                Operator.NotEquals => !present || !requirement.Values.Contains(value!),
                Operator.NotIn => !present || !requirement.Values.Contains(value!),
                Operator.Exists => present,
                Operator.DoesNotExist => !present,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static Requirement ParseRequirement(string part, string selector)
    {
        if (part.Length == 0)
        {
            throw Unparsable(selector);
        }

        if (part[0] == '!')
        {
            return new Requirement(ValidKey(part[1..].Trim(), selector), Operator.DoesNotExist, []);
        }

        var set = SetRequirement().Match(part);
        if (set.Success)
        {
            var values = set.Groups["values"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var op = set.Groups["op"].Value == "in" ? Operator.In : Operator.NotIn;
            return new Requirement(ValidKey(set.Groups["key"].Value, selector), op, [.. values]);
        }

        foreach (var (token, op) in new[] { ("!=", Operator.NotEquals), ("==", Operator.Equals), ("=", Operator.Equals) })
        {
            var at = part.IndexOf(token, StringComparison.Ordinal);
            if (at >= 0)
            {
                var key = ValidKey(part[..at].Trim(), selector);
                return new Requirement(key, op, [part[(at + token.Length)..].Trim()]);
            }
        }

        if (part.IndexOfAny(['<', '>', '(', ')', ' ']) >= 0)
        {
            throw Unparsable(selector);
        }

        return new Requirement(ValidKey(part, selector), Operator.Exists, []);
    }

    private static string ValidKey(string key, string selector) =>
        key.Length == 0 || key.IndexOfAny([' ', '(', ')', '=', '!', ',']) >= 0 ? throw Unparsable(selector) : key;

    private static ApiStatusException Unparsable(string selector) =>
        ApiStatusException.BadRequest($"unable to parse requirement: found '{selector}', expected: valid label selector");

    private static IEnumerable<string> SplitTopLevel(string selector)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            switch (selector[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return selector[start..i];
                    start = i + 1;
                    break;
            }
        }

        yield return selector[start..];
    }

    [GeneratedRegex(@"^(?<key>[^\s!=(),]+)\s+(?<op>in|notin)\s*\((?<values>[^()]*)\)$")]
    private static partial Regex SetRequirement();

    private sealed record Requirement(string Key, Operator Operator, HashSet<string> Values);
}
