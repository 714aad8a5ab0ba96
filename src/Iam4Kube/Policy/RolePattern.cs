using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;
using Iam4Kube.Roles;

namespace Iam4Kube.Policy;

/// <summary>
/// One pattern a role must match to be permitted: a glob (<c>iam.amazonaws.com/allowed-roles</c>,
/// <c>--allowed-roles</c>) or a regular expression (<c>iam.amazonaws.com/permitted</c>). Matching is always
/// anchored (the whole text must match: kube2iam's unanchored regexp let <c>reader</c> permit <c>not-a-reader</c>)
/// and case-sensitive (an allow-list: a different spelling is refused, never let through).
/// <para>
/// A pattern that starts with <c>arn:</c> (a regex may put <c>^</c> or <c>\A</c> first) is matched against the full
/// role ARN. Any other pattern is a <em>bare</em> one: it is matched against what follows <c>role/</c> in the ARN,
/// the role's path (without its leading slash) and name, in every partition and account. So <c>reader</c> permits
/// <c>arn:aws:iam::111111111111:role/reader</c> and <c>arn:aws-cn:iam::222222222222:role/reader</c> but not
/// <c>…:role/team/reader</c> (write <c>team/reader</c>, <c>*/reader</c> or <c>*reader</c> for that).
/// </para>
/// </summary>
internal sealed class RolePattern
{
    /// <summary>Longest pattern accepted: annotations are written by namespace admins, and patterns are short.</summary>
    public const int MaxLength = 2048;

    /// <summary>
    /// A match that takes longer is refused (fail closed). NonBacktracking makes matching linear in the ARN's length,
    /// so this is only a safety net: it is wall-clock time, and at 100 ms a loaded node (or a test run beside others)
    /// refused a permitted role while the lazily built automaton was first used.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    private readonly Regex _regex;

    private RolePattern(string text, bool bare, Regex regex)
    {
        Text = text;
        IsBare = bare;
        _regex = regex;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Matched against the role's path and name rather than the full ARN.</summary>
    public bool IsBare { get; }

    /// <summary>A glob: <c>*</c> is any run of characters (slashes and colons too), <c>?</c> exactly one; the rest is literal.</summary>
    public static bool TryGlob(string glob, [NotNullWhen(true)] out RolePattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (!CheckLength(glob, out error))
        {
            return false;
        }

        var regex = new StringBuilder(@"\A");
        foreach (var c in glob)
        {
            regex.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        }

        regex.Append(@"\z");
        pattern = new RolePattern(glob, !glob.StartsWith("arn:", StringComparison.Ordinal), Compile(regex.ToString()));
        return true;
    }

    /// <summary>A regular expression (.NET syntax without backtracking constructs: what RE2, kiam's Go regexp, accepts).</summary>
    public static bool TryRegex(string expression, [NotNullWhen(true)] out RolePattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (!CheckLength(expression, out error))
        {
            return false;
        }

        Regex regex;
        try
        {
            // Alone first: wrapped, "a)|(b" would parse as an unanchored alternation. Then anchored whatever was
            // written: \A and \z, not ^ and $ ($ also matches before a final newline).
            _ = Compile(expression);
            regex = Compile($@"\A(?:{expression})\z");
        }
        catch (ArgumentException e)
        {
            // Also what NonBacktracking says of backreferences and lookarounds: refused rather than risked.
            error = $"not a valid regular expression: {e.Message}";
            return false;
        }
        catch (NotSupportedException e)
        {
            error = $"not a supported regular expression: {e.Message}";
            return false;
        }

        var start = expression.StartsWith('^') ? 1 : expression.StartsWith(@"\A", StringComparison.Ordinal) ? 2 : 0;
        pattern = new RolePattern(expression, !expression.AsSpan(start).StartsWith("arn:", StringComparison.Ordinal), regex);
        return true;
    }

    /// <summary>
    /// Whether <paramref name="arn"/> matches. A match that exceeds <see cref="MatchTimeout"/> throws
    /// <see cref="RegexMatchTimeoutException"/>: the caller refuses the role.
    /// </summary>
    public bool Matches(RoleArn arn) => _regex.IsMatch(IsBare ? PathAndName(arn) : arn.Value);

    /// <summary>What follows <c>role/</c> in the ARN: <c>team/reader</c>, or <c>reader</c> for a role without a path.</summary>
    public static string PathAndName(RoleArn arn) => arn.Path.Length == 1 ? arn.RoleName : arn.Path[1..] + arn.RoleName;

    public override string ToString() => Text;

    private static bool CheckLength(string text, [NotNullWhen(false)] out string? error)
    {
        error = text.Length > MaxLength ? $"a pattern is {text.Length} characters long; at most {MaxLength} are allowed" : null;
        return error is null;
    }

    private static Regex Compile(string regex) =>
        new(regex, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.Singleline, MatchTimeout);
}
