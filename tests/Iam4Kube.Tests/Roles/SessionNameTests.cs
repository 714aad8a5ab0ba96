using System.Text.RegularExpressions;
using Iam4Kube.Roles;

namespace Iam4Kube.Tests.Roles;

public sealed partial class SessionNameTests
{
    [GeneratedRegex(@"^[\w+=,.@-]{2,64}$")]
    private static partial Regex StsSessionName();

    [Fact]
    public void IsNamespaceAtServiceAccount()
    {
        Assert.Equal("payments@api", SessionName.For("payments", "api"));
    }

    [Fact]
    public void KeepsNamesOfExactly64Characters()
    {
        var ns = new string('n', 30);
        var sa = new string('s', 33);
        Assert.Equal($"{ns}@{sa}", SessionName.For(ns, sa));
    }

    [Fact]
    public void ShortensLongNamesDeterministicallyWithAHashSuffix()
    {
        var ns = new string('n', 63);
        var sa = new string('s', 253);
        var first = SessionName.For(ns, sa);
        Assert.Equal(first, SessionName.For(ns, sa));
        Assert.Equal(SessionName.MaxLength, first.Length);
        Assert.Matches(StsSessionName(), first);
        Assert.StartsWith(ns[..40], first, StringComparison.Ordinal);
    }

    [Fact]
    public void NeverGivesTwoServiceAccountsTheSameShortenedName()
    {
        var ns = new string('n', 63);
        var names = Enumerable.Range(0, 2000)
            .Select(i => SessionName.For(ns, new string('s', 100) + i))
            .ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, n => Assert.Matches(StsSessionName(), n));
    }

    [Fact]
    public void NamesThatOnlyDifferInSplittingStillDiffer()
    {
        // "a-b@c" and "a@b-c" are different ServiceAccounts; "a@b@c" style inputs cannot come from Kubernetes,
        // but any two distinct (namespace, name) pairs must map to distinct session names.
        Assert.NotEqual(SessionName.For("a-b", "c"), SessionName.For("a", "b-c"));
    }

    [Fact]
    public void ReplacesCharactersStsRejects()
    {
        var name = SessionName.For("ns", "sa:with/odd chars");
        Assert.Matches(StsSessionName(), name);
        Assert.NotEqual(name, SessionName.For("ns", "sa-with-odd-chars"));
    }
}
