using Ip2Service.Endpoints;
using k8s.Models;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.Endpoints;

public sealed class EndpointSliceParserTests
{
    [Fact]
    public void TakesReadyNotTerminatingEndpointsOnTheNamedPort()
    {
        var parsed = EndpointSliceParser.Parse(Slice("s1", [Endpoint("10.0.0.1"), Endpoint("10.0.0.2")], port: 8080), "http");

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], parsed.ReadyOn("http").Select(e => e.ToString()));
        Assert.Empty(parsed.Problems);
    }

    [Fact]
    public void SkipsNotReadyAndTerminatingEndpointsButStillExcludesTheirAddresses()
    {
        var parsed = EndpointSliceParser.Parse(
            Slice("s1", [Endpoint("10.0.0.1"), Endpoint("10.0.0.2", ready: false), Endpoint("10.0.0.3", ready: true, terminating: true)]),
            "http");

        Assert.Equal(["10.0.0.1:8080"], parsed.ReadyOn("http").Select(e => e.ToString()));
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], parsed.Addresses.Select(a => a.ToString()));
    }

    [Fact]
    public void TreatsMissingConditionsAsReadyAndNotTerminating()
    {
        var endpoint = new V1Endpoint { Addresses = ["10.0.0.1"] };

        var parsed = EndpointSliceParser.Parse(Slice("s1", [endpoint, Endpoint("10.0.0.2", ready: null, terminating: null)]), "http");

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], parsed.ReadyOn("http").Select(e => e.ToString()));
    }

    [Fact]
    public void ReportsAMissingPortNameAndTakesNoEndpointFromThatSlice()
    {
        var parsed = EndpointSliceParser.Parse(Slice("s1", [Endpoint("10.0.0.1")], portName: "metrics"), "http");

        Assert.Empty(parsed.ReadyOn("http"));
        Assert.Equal(["10.0.0.1"], parsed.Addresses.Select(a => a.ToString()));
        Assert.Equal(SliceProblemReason.MissingPort, Assert.Single(parsed.Problems).Reason);
    }

    [Fact]
    public void IgnoresAUdpPortWithTheSameName()
    {
        var slice = Slice("s1", [Endpoint("10.0.0.1")]);
        slice.Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 53, Protocol = "UDP" }];

        var parsed = EndpointSliceParser.Parse(slice, "http");

        Assert.Empty(parsed.ReadyOn("http"));
        Assert.Equal(SliceProblemReason.MissingPort, Assert.Single(parsed.Problems).Reason);
    }

    [Fact]
    public void MatchesTheUnnamedPortOfASinglePortService()
    {
        var parsed = EndpointSliceParser.Parse(Slice("s1", [Endpoint("10.0.0.1")], portName: null, port: 9000), "");

        Assert.Equal(["10.0.0.1:9000"], parsed.ReadyOn("").Select(e => e.ToString()));
    }

    [Fact]
    public void ReportsAPortWithoutANumber()
    {
        var parsed = EndpointSliceParser.Parse(Slice("s1", [Endpoint("10.0.0.1")], port: null), "http");

        Assert.Empty(parsed.ReadyOn("http"));
        Assert.Equal(SliceProblemReason.InvalidPort, Assert.Single(parsed.Problems).Reason);
    }

    [Fact]
    public void ReadsAnIpv6SliceAndExcludesItsAddresses()
    {
        var parsed = EndpointSliceParser.Parse(
            Slice("s1-v6", [Endpoint("fd00::1"), Endpoint("fd00::2", ready: false)], addressType: "IPv6"), "http");

        Assert.Equal(["[fd00::1]:8080"], parsed.ReadyOn("http").Select(e => e.ToString()));
        Assert.Equal(["fd00::1", "fd00::2"], parsed.Addresses.Select(a => a.ToString()));
        Assert.Empty(parsed.Problems);
    }

    [Fact]
    public void ReportsAddressesOfTheOtherFamilyAndSkipsThem()
    {
        var parsed = EndpointSliceParser.Parse(Slice("s1-v6", [Endpoint("10.0.0.1"), Endpoint("fd00::2")], addressType: "IPv6"), "http");

        Assert.Equal(["[fd00::2]:8080"], parsed.ReadyOn("http").Select(e => e.ToString()));
        Assert.Equal(SliceProblemReason.WrongFamily, Assert.Single(parsed.Problems).Reason);
    }

    [Fact]
    public void ReadsEveryRequestedPortAndReportsTheMissingOne()
    {
        var parsed = EndpointSliceParser.Parse(Slice("s1", [Endpoint("10.0.0.1")], port: 8080), ["http", "pod-identity"]);

        Assert.Equal(["10.0.0.1:8080"], parsed.ReadyOn("http").Select(e => e.ToString()));
        Assert.Empty(parsed.ReadyOn("pod-identity"));
        Assert.Equal(SliceProblemReason.MissingPort, Assert.Single(parsed.Problems).Reason);
    }

    [Fact]
    public void ReportsMalformedAddressesAndKeepsTheRest()
    {
        var parsed = EndpointSliceParser.Parse(
            Slice("s1", [Endpoint("10.1"), Endpoint("10.0.0.300"), Endpoint("not-an-ip"), Endpoint("fd00::9"), Endpoint("10.0.0.4")]),
            "http");

        Assert.Equal(["10.0.0.4:8080"], parsed.ReadyOn("http").Select(e => e.ToString()));
        Assert.Equal(
            [SliceProblemReason.MalformedAddress, SliceProblemReason.MalformedAddress, SliceProblemReason.MalformedAddress, SliceProblemReason.WrongFamily],
            parsed.Problems.Select(p => p.Reason));
        Assert.All(parsed.Problems, p => Assert.Equal("s1", p.Slice));
    }

    [Fact]
    public void ReportsFqdnSlicesAsUnsupported()
    {
        var parsed = EndpointSliceParser.Parse(Slice("s1", [Endpoint("iam4kube.example.com")], addressType: "FQDN"), "http");

        Assert.Empty(parsed.ReadyOn("http"));
        Assert.Equal(SliceProblemReason.UnsupportedAddressType, Assert.Single(parsed.Problems).Reason);
    }
}
