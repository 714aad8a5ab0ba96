using Iam4Kube.Policy;
using Iam4Kube.Roles;

namespace Iam4Kube.Tests.Policy;

/// <summary>
/// A namespace's rules from kube2iam's and kiam's annotations: either works unchanged, both together permit what
/// either permits, and anything malformed permits nothing while saying which annotation is at fault.
/// </summary>
public sealed class NamespaceRulesTests
{
    private const string Allowed = NamespaceRules.AllowedRolesKey;
    private const string Permitted = NamespaceRules.PermittedKey;
    private const string Reader = "arn:aws:iam::111111111111:role/reader";
    private const string Writer = "arn:aws:iam::111111111111:role/writer";

    public static TheoryData<string?, string?, string, bool> Table => new()
    {
        // kube2iam: a JSON array of globs.
        { """["reader"]""", null, Reader, true },
        { """["reader"]""", null, Writer, false },
        { """["arn:aws:iam::111111111111:role/*"]""", null, Writer, true },
        { """["reader", "arn:aws:iam::111111111111:role/wri?er"]""", null, Writer, true },
        { "[]", null, Reader, false },
        // kiam: one regular expression.
        { null, "reader|writer", Writer, true },
        { null, "read", Reader, false },
        { null, "", Reader, false },
        // Both: either permits.
        { """["reader"]""", "writer", Reader, true },
        { """["reader"]""", "writer", Writer, true },
        { """["reader"]""", "admin", Writer, false },
        { "[]", ".*", Writer, true },
        // Neither: nothing.
        { null, null, Reader, false },
        // Malformed, alone or next to a valid one: nothing.
        { "reader", null, Reader, false },
        { """["reader",]""", null, Reader, false },
        { """{"roles":["reader"]}""", null, Reader, false },
        { """[1]""", null, Reader, false },
        { """[""]""", null, Reader, false },
        { """[null]""", null, Reader, false },
        { """["reader"]""", "(", Reader, false },
        { "not json", ".*", Reader, false },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void PermitsWhatEitherAnnotationPermitsAndNothingWhenMalformed(string? allowedRoles, string? permitted, string arn, bool expected)
    {
        var rules = NamespaceRules.Read(Annotations(allowedRoles, permitted));

        Assert.Equal(expected, rules.Permits(Arn(arn), out _));
    }

    [Theory]
    [InlineData("reader", null, Allowed, "not JSON")]
    [InlineData("""{"a":1}""", null, Allowed, "expected a JSON array")]
    [InlineData("""[1]""", null, Allowed, "non-empty string")]
    [InlineData(null, "a)|(b", Permitted, "not a valid regular expression")]
    [InlineData("""["reader"]""", "(", Permitted, "not a valid regular expression")]
    public void AMalformedAnnotationIsNamedInTheReason(string? allowedRoles, string? permitted, string annotation, string problem)
    {
        var rules = NamespaceRules.Read(Annotations(allowedRoles, permitted));

        Assert.False(rules.Permits(Arn(Reader), out var why));
        Assert.StartsWith($"annotation {annotation} is malformed: ", rules.Problem);
        Assert.Contains(problem, rules.Problem);
        Assert.EndsWith("so the namespace permits no role", why);
    }

    [Fact]
    public void TooManyEntriesAreMalformed()
    {
        var json = "[" + string.Join(",", Enumerable.Repeat("\"reader\"", NamespaceRules.MaxAllowedRoles + 1)) + "]";

        var rules = NamespaceRules.Read(Annotations(json, null));

        Assert.Contains($"at most {NamespaceRules.MaxAllowedRoles}", rules.Problem);
    }

    [Fact]
    public void ANamespaceWithoutEitherAnnotationSaysSo()
    {
        var rules = NamespaceRules.Read(new Dictionary<string, string> { ["unrelated"] = "x" });

        Assert.False(rules.Permits(Arn(Reader), out var why));
        Assert.Null(rules.Problem);
        Assert.Contains($"neither {Allowed} nor {Permitted}", why);
    }

    [Theory]
    [InlineData("""["x"]""", null, Allowed)]
    [InlineData(null, "x", Permitted)]
    [InlineData("""["x"]""", "x", Allowed + " or " + Permitted)]
    public void TheRuleNameSaysWhichAnnotationsDecided(string? allowedRoles, string? permitted, string name)
    {
        Assert.Equal(name, NamespaceRules.Read(Annotations(allowedRoles, permitted)).RuleName);
    }

    [Fact]
    public void RulesWrittenTheSameAreTheSameWhateverElseChanged()
    {
        var first = NamespaceRules.Read(new Dictionary<string, string> { [Allowed] = """["reader"]""", ["other"] = "1" });
        var second = NamespaceRules.Read(new Dictionary<string, string> { [Allowed] = """["reader"]""", ["other"] = "2" });
        var third = NamespaceRules.Read(new Dictionary<string, string> { [Allowed] = """["writer"]""" });

        Assert.True(first.SameAs(second));
        Assert.False(first.SameAs(third));
    }

    internal static Dictionary<string, string> Annotations(string? allowedRoles, string? permitted)
    {
        var annotations = new Dictionary<string, string>();
        if (allowedRoles is not null)
        {
            annotations[Allowed] = allowedRoles;
        }

        if (permitted is not null)
        {
            annotations[Permitted] = permitted;
        }

        return annotations;
    }

    private static RoleArn Arn(string text) => RolePatternTests.Arn(text);
}
