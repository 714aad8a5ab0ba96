using Iam4Kube.Policy;
using Iam4Kube.Roles;

namespace Iam4Kube.Tests.Policy;

/// <summary>
/// What a role pattern permits, as a table: globs (allowed-roles, --allowed-roles) and regular expressions
/// (permitted), always anchored, bare patterns over the role's path and name in every partition and account.
/// </summary>
public sealed class RolePatternTests
{
    private const string Reader = "arn:aws:iam::111111111111:role/reader";

    public static TheoryData<string, string, bool> Globs => new()
    {
        // Full-ARN globs: anchored at both ends.
        { "arn:aws:iam::111111111111:role/reader", Reader, true },
        { "arn:aws:iam::111111111111:role/read", Reader, false },
        { "arn:aws:iam::111111111111:role/reader", "arn:aws:iam::111111111111:role/reader-admin", false },
        { "arn:aws:iam::111111111111:role/*", Reader, true },
        { "arn:aws:iam::111111111111:role/*", "arn:aws:iam::222222222222:role/reader", false },
        { "arn:aws:iam::*:role/reader", "arn:aws:iam::222222222222:role/reader", true },
        { "arn:aws:iam::*:role/reader", "arn:aws-cn:iam::222222222222:role/reader", false },
        { "arn:*:iam::111111111111:role/reader", "arn:aws-us-gov:iam::111111111111:role/reader", true },
        { "arn:aws:iam::111111111111:role/team-a/*", "arn:aws:iam::111111111111:role/team-a/deep/writer", true },
        { "arn:aws:iam::111111111111:role/team-a/*", "arn:aws:iam::111111111111:role/team-b/writer", false },
        // ? is exactly one character.
        { "arn:aws:iam::11111111111?:role/reader", Reader, true },
        { "arn:aws:iam::111111111111:role/reade?", Reader, true },
        { "arn:aws:iam::111111111111:role/reader?", Reader, false },
        // Regex metacharacters in names and paths are literal in a glob.
        { "arn:aws:iam::111111111111:role/a.b", "arn:aws:iam::111111111111:role/a.b", true },
        { "arn:aws:iam::111111111111:role/a.b", "arn:aws:iam::111111111111:role/aXb", false },
        { "arn:aws:iam::111111111111:role/a+b", "arn:aws:iam::111111111111:role/a+b", true },
        { "arn:aws:iam::111111111111:role/a+b", "arn:aws:iam::111111111111:role/aab", false },
        { "arn:aws:iam::111111111111:role/(x)/a", "arn:aws:iam::111111111111:role/(x)/a", true },
        { "arn:aws:iam::111111111111:role/[ab]", "arn:aws:iam::111111111111:role/a", false },
        // Bare globs: the role's path and name, in any partition and account.
        { "reader", Reader, true },
        { "reader", "arn:aws-cn:iam::222222222222:role/reader", true },
        { "reader", "arn:aws-us-gov:iam::333333333333:role/reader", true },
        { "reader", "arn:aws:iam::111111111111:role/team/reader", false },
        { "reader", "arn:aws:iam::111111111111:role/not-a-reader", false },
        { "team/reader", "arn:aws:iam::111111111111:role/team/reader", true },
        { "*/reader", "arn:aws:iam::111111111111:role/team/reader", true },
        { "*/reader", Reader, false },
        { "*reader", "arn:aws:iam::111111111111:role/team/reader", true },
        { "team-a-*", "arn:aws:iam::111111111111:role/team-a-writer", true },
        { "team-a-*", "arn:aws:iam::111111111111:role/team-b-writer", false },
        { "*", "arn:aws-cn:iam::111111111111:role/any/path/x", true },
        // Case-sensitive: an allow-list refuses another spelling.
        { "Reader", Reader, false },
    };

    public static TheoryData<string, string, bool> Regexes => new()
    {
        // Anchored whatever was written: kube2iam's unanchored regexp let "reader" permit "not-a-reader-admin".
        { "reader", Reader, true },
        { "reader", "arn:aws:iam::111111111111:role/not-a-reader", false },
        { "reader", "arn:aws:iam::111111111111:role/reader-admin", false },
        { "read", Reader, false },
        { "^reader$", Reader, true },
        { ".*", "arn:aws-us-gov:iam::111111111111:role/p/x", true },
        { "team-a-.*", "arn:aws:iam::111111111111:role/team-a-writer", true },
        { "team-a-.*", "arn:aws:iam::111111111111:role/x-team-a-writer", false },
        { "reader|writer", "arn:aws:iam::111111111111:role/writer", true },
        { "reader|writer", "arn:aws:iam::111111111111:role/writer-admin", false },
        { "reader|writer", "arn:aws:iam::111111111111:role/admin-reader", false },
        // Full-ARN regexes (also after ^ or \A): over the whole ARN.
        { @"arn:aws:iam::111111111111:role/.*", Reader, true },
        { @"^arn:aws:iam::111111111111:role/.*", "arn:aws:iam::222222222222:role/reader", false },
        { @"\Aarn:aws(-cn|-us-gov)?:iam::\d{12}:role/reader", "arn:aws-cn:iam::222222222222:role/reader", true },
        { @"arn:aws:iam::\d{12}:role/reader", "arn:aws-cn:iam::222222222222:role/reader", false },
        // A name with metacharacters, escaped or not.
        { @"a\.b", "arn:aws:iam::111111111111:role/a.b", true },
        { @"a\.b", "arn:aws:iam::111111111111:role/aXb", false },
        { @"a\+b@c=d,e", "arn:aws:iam::111111111111:role/a+b@c=d,e", true },
        { "team/.*", "arn:aws:iam::111111111111:role/team/reader", true },
        { "team/.*", Reader, false },
    };

    [Theory]
    [MemberData(nameof(Globs))]
    public void AGlobPermitsExactlyTheRolesItDescribes(string glob, string arn, bool permitted)
    {
        Assert.True(RolePattern.TryGlob(glob, out var pattern, out var error), error);

        Assert.Equal(permitted, pattern.Matches(Arn(arn)));
    }

    [Theory]
    [MemberData(nameof(Regexes))]
    public void ARegexIsAnchoredAndPermitsExactlyTheRolesItDescribes(string regex, string arn, bool permitted)
    {
        Assert.True(RolePattern.TryRegex(regex, out var pattern, out var error), error);

        Assert.Equal(permitted, pattern.Matches(Arn(arn)));
    }

    [Theory]
    [InlineData("a)|(b")]
    [InlineData("(")]
    [InlineData("[a-")]
    [InlineData(@"reader\")]
    [InlineData(@"(a)\1")]
    [InlineData("(?=reader)reader")]
    [InlineData("(?x)reader#")]
    public void AMalformedOrUnanchorableRegexIsRefused(string regex)
    {
        Assert.False(RolePattern.TryRegex(regex, out var pattern, out var error));
        Assert.Null(pattern);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void APatternLongerThanTheLimitIsRefused()
    {
        var text = new string('a', RolePattern.MaxLength + 1);

        Assert.False(RolePattern.TryGlob(text, out _, out var globError));
        Assert.False(RolePattern.TryRegex(text, out _, out var regexError));
        Assert.Contains("at most", globError);
        Assert.Contains("at most", regexError);
    }

    [Fact]
    public void ARegexThatWouldBacktrackCatastrophicallyStillAnswersQuickly()
    {
        Assert.True(RolePattern.TryRegex("(a+)+b", out var pattern, out _));
        var arn = Arn($"arn:aws:iam::111111111111:role/{new string('a', 64)}");
        var watch = System.Diagnostics.Stopwatch.StartNew();

        Assert.False(pattern.Matches(arn));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    internal static RoleArn Arn(string text) =>
        RoleArn.TryParse(text, out var arn, out var error) ? arn : throw new ArgumentException(error, nameof(text));
}
