using System.Globalization;
using System.Net;
using Ip2Service.Iptables;
using Ip2Service.Rules;

namespace Ip2Service.Tests.Rules;

public sealed class RuleRendererTests
{
    private const string Chain = "IP2SERVICE-ZLMHDQFX5EKC3GNI";

    [Fact]
    public void RendersTheExactDocumentForTwoEndpoints()
    {
        var rendered = Render("10.0.1.2:8080", "10.0.1.1:8080");

        Assert.Equal(
            $$"""
            # ip2service: 169.254.169.254:80 -> 2 ready endpoints, 2 excluded sources
            *filter
            :{{Chain}} - [0:0]
            -A {{Chain}} -m conntrack --ctstate NEW -m comment --comment "ip2service: keeps connection tracking on, so redirected connections keep their address translation"
            -A {{Chain}} -s 10.0.1.1/32 -m comment --comment "ip2service: 10.0.1.1 keeps the real 169.254.169.254:80" -j RETURN
            -A {{Chain}} -s 10.0.1.2/32 -m comment --comment "ip2service: 10.0.1.2 keeps the real 169.254.169.254:80" -j RETURN
            -A {{Chain}} -p tcp -m comment --comment "ip2service: fail closed: 169.254.169.254:80 not redirected to an endpoint" -j REJECT --reject-with tcp-reset
            -I INPUT 1 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -m comment --comment "ip2service: intercept 169.254.169.254:80" -j {{Chain}}
            -I FORWARD 1 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -m comment --comment "ip2service: intercept 169.254.169.254:80" -j {{Chain}}
            COMMIT
            *nat
            :{{Chain}} - [0:0]
            -A {{Chain}} -s 10.0.1.1/32 -m comment --comment "ip2service: 10.0.1.1 keeps the real 169.254.169.254:80" -j RETURN
            -A {{Chain}} -s 10.0.1.2/32 -m comment --comment "ip2service: 10.0.1.2 keeps the real 169.254.169.254:80" -j RETURN
            -A {{Chain}} -p tcp -m comment --comment "ip2service: 169.254.169.254:80 to 10.0.1.1:8080 (1 of 2)" -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination 10.0.1.1:8080
            -A {{Chain}} -p tcp -m comment --comment "ip2service: 169.254.169.254:80 to 10.0.1.2:8080 (2 of 2)" -j DNAT --to-destination 10.0.1.2:8080
            -I PREROUTING 1 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -m comment --comment "ip2service: intercept 169.254.169.254:80" -j {{Chain}}
            COMMIT

            """,
            rendered);
    }

    [Fact]
    public void RendersOnlyTheFailClosedRejectForZeroEndpoints()
    {
        var rendered = Render();

        Assert.DoesNotContain("DNAT", rendered, StringComparison.Ordinal);
        Assert.Contains($"-A {Chain} -p tcp -m comment --comment \"ip2service: fail closed: 169.254.169.254:80 not redirected to an endpoint\" -j REJECT --reject-with tcp-reset", Lines(rendered));
        // The nat chain still exists (declared, hence emptied) and is still jumped to.
        Assert.Equal(2, Lines(rendered).Count(l => l == $":{Chain} - [0:0]"));
        Assert.Contains(Lines(rendered), l => l.StartsWith("-I PREROUTING 1 ", StringComparison.Ordinal));
    }

    [Fact]
    public void RendersOneUnconditionalDnatForOneEndpoint()
    {
        Assert.Equal(
            [$"-A {Chain} -p tcp -m comment --comment \"ip2service: 169.254.169.254:80 to 10.0.1.1:8080 (1 of 1)\" -j DNAT --to-destination 10.0.1.1:8080"],
            DnatLines(Render("10.0.1.1:8080")));
    }

    [Fact]
    public void RendersExactProbabilitiesForTwoEndpoints()
    {
        Assert.Equal(["0.5000000000", null], Probabilities(Render("10.0.1.1:8080", "10.0.1.2:8080")));
    }

    [Fact]
    public void RendersExactProbabilitiesForThreeEndpoints()
    {
        var rendered = Render("10.0.1.1:8080", "10.0.1.2:8080", "10.0.1.3:8080");

        Assert.Equal(["0.3333333333", "0.5000000000", null], Probabilities(rendered));
        Assert.Equal(
            ["10.0.1.1:8080", "10.0.1.2:8080", "10.0.1.3:8080"],
            DnatLines(rendered).Select(l => l[(l.LastIndexOf(' ') + 1)..]));
    }

    [Fact]
    public void RendersOneOverRemainingProbabilitiesForSevenEndpoints()
    {
        var endpoints = Enumerable.Range(1, 7).Select(i => $"10.0.1.{i}:8080").ToArray();

        Assert.Equal(
            ["0.1428571429", "0.1666666667", "0.2000000000", "0.2500000000", "0.3333333333", "0.5000000000", null],
            Probabilities(Render(endpoints)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(100)]
    public void EachEndpointGetsOneNthOfConnections(int n)
    {
        // Rule i is reached with the probability that every earlier rule passed, and then matches with its own.
        var reach = 1.0;
        for (var i = 0; i < n; i++)
        {
            var p = i < n - 1 ? double.Parse(RuleRenderer.Probability(n - i), CultureInfo.InvariantCulture) : 1.0;
            Assert.Equal(1.0 / n, reach * p, precision: 9);
            reach *= 1 - p;
        }
        Assert.Equal(0, reach, precision: 12);
    }

    [Fact]
    public void ExcludedSourcesReturnBeforeAnyDnatOrReject()
    {
        var set = EndpointSet.ForEndpoints([Endpoint("10.0.1.1:8080")], [IPAddress.Parse("10.0.9.9")]);
        var lines = Lines(RuleRenderer.Render(InterceptTarget.Default, set, IptablesSnapshot.Empty));

        foreach (var table in new[] { "*filter", "*nat" })
        {
            var section = lines.SkipWhile(l => l != table).Skip(1).TakeWhile(l => l != "COMMIT").ToList();
            var returns = section.FindAll(l => l.EndsWith("-j RETURN", StringComparison.Ordinal));
            Assert.Equal(["-s 10.0.1.1/32", "-s 10.0.9.9/32"], returns.Select(l => l.Split(' ')[2] + " " + l.Split(' ')[3]));
            var lastReturn = section.FindLastIndex(l => l.EndsWith("-j RETURN", StringComparison.Ordinal));
            var firstAction = section.FindIndex(l => l.Contains("-j DNAT", StringComparison.Ordinal) || l.Contains("-j REJECT", StringComparison.Ordinal));
            Assert.True(firstAction > lastReturn, string.Join('\n', section));
        }
    }

    [Fact]
    public void TheFilterChainOpensWithAConntrackRuleThatHasNoTargetSoItKeepsTrackingOnWithoutChangingAVerdict()
    {
        foreach (var target in new[] { InterceptTarget.Default, InterceptTarget.DefaultIpv6 })
        {
            var chain = ChainNames.For(target);
            var lines = Lines(RuleRenderer.Render(target, EndpointSet.Empty, IptablesSnapshot.Empty));
            var filter = lines.SkipWhile(l => l != "*filter").TakeWhile(l => l != "COMMIT").Where(l => l.StartsWith($"-A {chain} ", StringComparison.Ordinal)).ToList();
            var nat = lines.SkipWhile(l => l != "*nat").TakeWhile(l => l != "COMMIT").Where(l => l.StartsWith($"-A {chain} ", StringComparison.Ordinal)).ToList();

            Assert.Equal(RuleRenderer.ConntrackAnchor(chain), filter[0]);
            Assert.Contains(" -m conntrack --ctstate NEW ", filter[0], StringComparison.Ordinal);
            Assert.Null(new SavedRule("filter", chain, filter[0]["-A ".Length..][(chain.Length + 1)..]).Target);
            // Zero endpoints: the nat chain holds no rule at all, and tracking still stays on through the filter chain.
            Assert.Empty(nat);
            Assert.Equal(2, RuleRenderer.RuleCount("filter", new TargetRules(target, EndpointSet.Empty)));
        }
    }

    [Fact]
    public void EveryRuleCarriesAnIp2serviceComment()
    {
        var rules = Lines(Render("10.0.1.1:8080", "10.0.1.2:8080"))
            .Where(l => l.StartsWith("-A", StringComparison.Ordinal) || l.StartsWith("-I", StringComparison.Ordinal));

        Assert.All(rules, rule => Assert.Contains("-m comment --comment \"ip2service: ", rule, StringComparison.Ordinal));
    }

    [Fact]
    public void ChainNamesAreStableAcrossRestartsAndDependOnlyOnTheInterceptTarget()
    {
        // Pinned: a different name after an upgrade would leave the old chain behind.
        Assert.Equal(Chain, ChainNames.For(InterceptTarget.Default));
        Assert.Equal(Chain, ChainNames.For(new InterceptTarget(IPAddress.Parse("169.254.169.254"), 80)));
        Assert.NotEqual(Chain, ChainNames.For(new InterceptTarget(IPAddress.Parse("169.254.169.254"), 8080)));
        Assert.NotEqual(Chain, ChainNames.For(new InterceptTarget(IPAddress.Parse("169.254.170.2"), 80)));
        Assert.True(Chain.Length <= 28, "iptables chain names have at most 28 characters");
    }

    [Fact]
    public void RendersIdenticalTextForTheSameSetInAnyOrder()
    {
        Assert.Equal(
            Render("10.0.1.3:8080", "10.0.1.1:8080", "10.0.1.2:8080", "10.0.1.1:8080"),
            Render("10.0.1.1:8080", "10.0.1.2:8080", "10.0.1.3:8080"));
    }

    [Fact]
    public void LeavesJumpsThatArePresentOnceAlone()
    {
        var current = IptablesSnapshot.Parse(SaveWithJumps(prerouting: 1, input: 1, forward: 1));

        var rendered = RuleRenderer.Render(InterceptTarget.Default, EndpointSet.Empty, current);

        Assert.DoesNotContain(Lines(rendered), l => l.StartsWith("-I ", StringComparison.Ordinal) || l.StartsWith("-D ", StringComparison.Ordinal));
    }

    [Fact]
    public void InsertsAMissingJumpFirstAndCollapsesDuplicatesToOne()
    {
        var current = IptablesSnapshot.Parse(SaveWithJumps(prerouting: 2, input: 0, forward: 1));

        var jumps = Lines(RuleRenderer.Render(InterceptTarget.Default, EndpointSet.Empty, current))
            .Where(l => l.StartsWith("-I ", StringComparison.Ordinal) || l.StartsWith("-D ", StringComparison.Ordinal));

        var spec = RuleRenderer.JumpSpec(InterceptTarget.Default, Chain);
        Assert.Equal(
            [
                $"-I INPUT 1 {spec}",
                $"-D PREROUTING {spec}",
                $"-D PREROUTING -j {Chain}",
                $"-I PREROUTING 1 {spec}",
            ],
            jumps);
    }

    private static string SaveWithJumps(int prerouting, int input, int forward)
    {
        var spec = RuleRenderer.JumpSpec(InterceptTarget.Default, Chain);
        var filter = Enumerable.Repeat($"-A INPUT {spec}", input).Concat(Enumerable.Repeat($"-A FORWARD {spec}", forward));
        var nat = Enumerable.Repeat($"-A PREROUTING {spec}", Math.Min(prerouting, 1))
            .Concat(Enumerable.Repeat($"-A PREROUTING -j {Chain}", Math.Max(prerouting - 1, 0)));
        return string.Join('\n', [
            "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", $":{Chain} - [0:0]", .. filter, "COMMIT",
            "*nat", ":PREROUTING ACCEPT [0:0]", $":{Chain} - [0:0]", .. nat, "COMMIT"]);
    }

    private static string Render(params string[] endpoints) =>
        RuleRenderer.Render(InterceptTarget.Default, EndpointSet.ForEndpoints(endpoints.Select(Endpoint), []), IptablesSnapshot.Empty);

    private static BackendEndpoint Endpoint(string text) =>
        BackendEndpoint.TryParse(text, out var endpoint) ? endpoint : throw new ArgumentException(text);

    private static string[] Lines(string rendered) => rendered.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static List<string> DnatLines(string rendered) =>
        [.. Lines(rendered).Where(l => l.Contains("-j DNAT", StringComparison.Ordinal))];

    private static List<string?> Probabilities(string rendered) =>
        [.. DnatLines(rendered).Select(l =>
        {
            var at = l.IndexOf("--probability ", StringComparison.Ordinal);
            return at < 0 ? null : l[(at + "--probability ".Length)..].Split(' ')[0];
        })];
}
