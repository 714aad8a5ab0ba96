using System.Net;
using Ip2Service.Endpoints;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.Endpoints;

public sealed class EndpointSliceIndexTests
{
    [Fact]
    public void MergesAllSlicesOfTheService()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.2")])));
        index.Upsert(Parse(Slice("b", [Endpoint("10.0.0.1"), Endpoint("10.0.0.3", ready: false)])));

        var set = index.Snapshot([]);

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], set.Ready.Select(e => e.ToString()));
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], set.Excluded.Select(a => a.ToString()));
    }

    [Fact]
    public void CountsAnEndpointListedInTwoSlicesOnce()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));
        index.Upsert(Parse(Slice("b", [Endpoint("10.0.0.1")])));

        Assert.Equal(["10.0.0.1:8080"], index.Snapshot([]).Ready.Select(e => e.ToString()));
    }

    [Fact]
    public void ForgetsADeletedSlicesEndpointsAndExclusions()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));
        index.Upsert(Parse(Slice("b", [Endpoint("10.0.0.2")])));

        index.Remove("a");

        var set = index.Snapshot([]);
        Assert.Equal(["10.0.0.2:8080"], set.Ready.Select(e => e.ToString()));
        Assert.Equal(["10.0.0.2"], set.Excluded.Select(a => a.ToString()));
    }

    [Fact]
    public void ReplacesAllSlicesOnRelist()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));

        index.ReplaceAll([Parse(Slice("c", [Endpoint("10.0.0.9")]))]);

        Assert.Equal(["10.0.0.9:8080"], index.Snapshot([]).Ready.Select(e => e.ToString()));
    }

    [Fact]
    public void AddsTheExtraExclusions()
    {
        var index = new EndpointSliceIndex();
        index.Upsert(Parse(Slice("a", [Endpoint("10.0.0.1")])));

        Assert.Equal(["10.0.0.1", "10.9.9.9"], index.Snapshot([IPAddress.Parse("10.9.9.9")]).Excluded.Select(a => a.ToString()));
    }

    private static ParsedSlice Parse(k8s.Models.V1EndpointSlice slice) => EndpointSliceParser.Parse(slice, "http");
}
