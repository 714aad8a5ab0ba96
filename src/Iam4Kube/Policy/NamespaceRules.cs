using System.Text.Json;
using System.Text.RegularExpressions;
using Iam4Kube.Roles;

namespace Iam4Kube.Policy;

/// <summary>
/// Which roles a Namespace permits (with <c>--namespace-restrictions</c>), read from either tool's annotation so
/// that namespaces migrated from kube2iam or kiam work unchanged: <c>iam.amazonaws.com/allowed-roles</c> (kube2iam: a
/// JSON array of globs) and <c>iam.amazonaws.com/permitted</c> (kiam: one regular expression). Both present: a role
/// either permits is permitted (a namespace in the middle of a migration keeps what it had). Neither present, an
/// empty array, or either one malformed: the namespace permits nothing (a malformed rule's intent is unknown).
/// </summary>
internal sealed class NamespaceRules
{
    public const string AllowedRolesKey = "iam.amazonaws.com/allowed-roles";
    public const string PermittedKey = "iam.amazonaws.com/permitted";

    /// <summary>More entries than any namespace needs; a bound on the work one annotation can cause.</summary>
    public const int MaxAllowedRoles = 256;

    public static readonly NamespaceRules None = new(null, null, [], null, null);

    private readonly IReadOnlyList<RolePattern> _globs;
    private readonly RolePattern? _permitted;

    private NamespaceRules(string? allowedRoles, string? permitted, IReadOnlyList<RolePattern> globs, RolePattern? permittedPattern, string? problem)
    {
        AllowedRolesText = allowedRoles;
        PermittedText = permitted;
        _globs = globs;
        _permitted = permittedPattern;
        Problem = problem;
    }

    /// <summary>The allowed-roles annotation as written (null when absent).</summary>
    public string? AllowedRolesText { get; }

    /// <summary>The permitted annotation as written (null when absent).</summary>
    public string? PermittedText { get; }

    /// <summary>Why the annotations are malformed, naming the annotation; null when they are not.</summary>
    public string? Problem { get; }

    /// <summary>The annotations that say what is permitted, for messages: "iam.amazonaws.com/allowed-roles".</summary>
    public string RuleName => (AllowedRolesText, PermittedText) switch
    {
        (not null, not null) => $"{AllowedRolesKey} or {PermittedKey}",
        (not null, null) => AllowedRolesKey,
        (null, not null) => PermittedKey,
        _ => $"{AllowedRolesKey} or {PermittedKey}",
    };

    public static NamespaceRules Read(IDictionary<string, string>? annotations)
    {
        string? allowed = null, permitted = null;
        _ = annotations?.TryGetValue(AllowedRolesKey, out allowed);
        _ = annotations?.TryGetValue(PermittedKey, out permitted);
        if (allowed is null && permitted is null)
        {
            return None;
        }

        var globs = new List<RolePattern>();
        if (allowed is not null && !TryReadGlobs(allowed, globs, out var error))
        {
            return new NamespaceRules(allowed, permitted, [], null, $"annotation {AllowedRolesKey} is malformed: {error}");
        }

        RolePattern? regex = null;
        if (permitted is not null && !RolePattern.TryRegex(permitted, out regex, out var regexError))
        {
            return new NamespaceRules(allowed, permitted, [], null, $"annotation {PermittedKey} is malformed: {regexError}");
        }

        return new NamespaceRules(allowed, permitted, globs, regex, null);
    }

    /// <summary>Whether <paramref name="arn"/> is permitted; if not, why (a sentence without the namespace).</summary>
    public bool Permits(RoleArn arn, out string? why)
    {
        if (Problem is not null)
        {
            why = $"{Problem}, so the namespace permits no role";
            return false;
        }

        if (AllowedRolesText is null && PermittedText is null)
        {
            why = $"the namespace has neither {AllowedRolesKey} nor {PermittedKey}, so it permits no role";
            return false;
        }

        try
        {
            if (_globs.Any(g => g.Matches(arn)) || _permitted?.Matches(arn) == true)
            {
                why = null;
                return true;
            }
        }
        catch (RegexMatchTimeoutException)
        {
            why = $"matching {RuleName} took longer than {RolePattern.MatchTimeout.TotalMilliseconds:0} ms, so the role is refused";
            return false;
        }

        why = null;
        return false;
    }

    /// <summary>Written the same (what a watch event that changed only other annotations brings).</summary>
    public bool SameAs(NamespaceRules other) =>
        string.Equals(AllowedRolesText, other.AllowedRolesText, StringComparison.Ordinal)
        && string.Equals(PermittedText, other.PermittedText, StringComparison.Ordinal);

    private static bool TryReadGlobs(string json, List<RolePattern> globs, out string? error)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException e)
        {
            error = $"not JSON ({e.Message})";
            return false;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                error = $"expected a JSON array of role patterns, found {document.RootElement.ValueKind.ToString().ToLowerInvariant()}";
                return false;
            }

            if (document.RootElement.GetArrayLength() > MaxAllowedRoles)
            {
                error = $"{document.RootElement.GetArrayLength()} entries; at most {MaxAllowedRoles} are allowed";
                return false;
            }

            foreach (var element in document.RootElement.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.String || element.GetString() is not { Length: > 0 } text)
                {
                    error = "every entry must be a non-empty string";
                    return false;
                }

                if (!RolePattern.TryGlob(text, out var glob, out error))
                {
                    return false;
                }

                globs.Add(glob);
            }
        }

        error = null;
        return true;
    }
}
