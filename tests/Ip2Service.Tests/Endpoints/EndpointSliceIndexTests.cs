using System.Net;
using Ip2Service.Endpoints;
using Ip2Service.Rules;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.Endpoints;

public sealed class EndpointSliceIndexTests
{
    private static readonly InterceptRoute Imds = new(InterceptTarget.Default, "http");

    [Fact]
    public void MergesAllSlicesOfTheService()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.2")])));
        index.Upsert(Parse(Slice("b", [Endpoint("10.0.0.1"), Endpoint("10.0.0.3", ready: false)])));

        var set = index.Snapshot(Imds, []);

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], set.Ready.Select(e => e.ToString()));
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], set.Excluded.Select(a => a.ToString()));
    }

    [Fact]
    public void CountsAnEndpointListedInTwoSlicesOnce()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));
        index.Upsert(Parse(Slice("b", [Endpoint("10.0.0.1")])));

        Assert.Equal(["10.0.0.1:8080"], index.Snapshot(Imds, []).Ready.Select(e => e.ToString()));
    }

    [Fact]
    public void ForgetsADeletedSlicesEndpointsAndExclusions()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));
        index.Upsert(Parse(Slice("b", [Endpoint("10.0.0.2")])));

        index.Remove("a");

        var set = index.Snapshot(Imds, []);
        Assert.Equal(["10.0.0.2:8080"], set.Ready.Select(e => e.ToString()));
        Assert.Equal(["10.0.0.2"], set.Excluded.Select(a => a.ToString()));
    }

    [Fact]
    public void ReplacesAllSlicesOnRelist()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));

        index.ReplaceAll([Parse(Slice("c", [Endpoint("10.0.0.9")]))]);

        Assert.Equal(["10.0.0.9:8080"], index.Snapshot(Imds, []).Ready.Select(e => e.ToString()));
    }

    [Fact]
    public void AddsTheExtraExclusions()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));

        Assert.Equal(["10.0.0.1", "10.9.9.9"], index.Snapshot(Imds, [IPAddress.Parse("10.9.9.9")]).Excluded.Select(a => a.ToString()));
    }

    [Fact]
    public void EachFamilysTargetGetsOnlyThatFamilysEndpointsAndExclusions()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("v4", [Endpoint("10.0.0.1")])));
        index.Upsert(Parse(Slice("v6", [Endpoint("fd00::1"), Endpoint("fd00::2", ready: false)], addressType: "IPv6")));

        var v4 = index.Snapshot(Imds, [IPAddress.Parse("fd00::9"), IPAddress.Parse("10.9.9.9")]);
        var v6 = index.Snapshot(new InterceptRoute(InterceptTarget.DefaultIpv6, "http"), [IPAddress.Parse("fd00::9"), IPAddress.Parse("10.9.9.9")]);

        Assert.Equal(["10.0.0.1:8080"], v4.Ready.Select(e => e.ToString()));
        Assert.Equal(["10.0.0.1", "10.9.9.9"], v4.Excluded.Select(a => a.ToString()));
        Assert.Equal(["[fd00::1]:8080"], v6.Ready.Select(e => e.ToString()));
        Assert.Equal(["fd00::1", "fd00::2", "fd00::9"], v6.Excluded.Select(a => a.ToString()));
    }

    private static ParsedSlice Parse(k8s.Models.V1EndpointSlice slice) => EndpointSliceParser.Parse(slice, "http");
}
