using System.Net;
using Ip2Service.Rules;

namespace Ip2Service.Tests.Rules;

public sealed class EndpointSetTests
{
    [Fact]
    public void SortsNumericallyAndDropsDuplicates()
    {
        var set = EndpointSet.Create(
            [E("10.0.0.10:80"), E("10.0.0.9:80"), E("10.0.0.9:80"), E("10.0.0.9:79")],
            [IPAddress.Parse("10.0.0.10"), IPAddress.Parse("9.0.0.1"), IPAddress.Parse("10.0.0.10")]);

        Assert.Equal(["10.0.0.9:79", "10.0.0.9:80", "10.0.0.10:80"], set.Ready.Select(e => e.ToString()));
        Assert.Equal(["9.0.0.1", "10.0.0.10"], set.Excluded.Select(a => a.ToString()));
    }

    [Fact]
    public void EqualContentMeansEqualSets()
    {
        var a = EndpointSet.ForEndpoints([E("10.0.0.1:80"), E("10.0.0.2:80")], []);
        var b = EndpointSet.ForEndpoints([E("10.0.0.2:80"), E("10.0.0.1:80")], [IPAddress.Parse("10.0.0.1")]);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, EndpointSet.ForEndpoints([E("10.0.0.1:80")], []));
    }

    [Fact]
    public void EndpointsAreAlsoExcludedSources()
    {
        var set = EndpointSet.ForEndpoints([E("10.0.0.1:80")], [IPAddress.Parse("10.0.0.7")]);

        Assert.Equal(["10.0.0.1", "10.0.0.7"], set.Excluded.Select(a => a.ToString()));
    }

    [Theory]
    [InlineData("10.0.0.1:8080", true)]
    [InlineData("255.255.255.255:65535", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("10.1:8080", false)]
    [InlineData("10.0.0.256:8080", false)]
    [InlineData("10.0.0.1:0", false)]
    [InlineData("10.0.0.1:65536", false)]
    [InlineData("10.0.0.1:+80", false)]
    [InlineData("[fd00::1]:8080", true)]
    [InlineData("fd00::1:8080", false)]
    [InlineData("[10.0.0.1]:8080", false)]
    [InlineData("[fe80::1%2]:8080", false)]
    [InlineData(" 10.0.0.1:8080", false)]
    public void ParsesOnlyStrictIpv4Endpoints(string text, bool valid)
    {
        Assert.Equal(valid, BackendEndpoint.TryParse(text, out _));
    }

    private static BackendEndpoint E(string text) =>
        BackendEndpoint.TryParse(text, out var endpoint) ? endpoint : throw new ArgumentException(text);
}
