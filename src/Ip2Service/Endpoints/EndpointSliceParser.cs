using System.Collections.Immutable;
using System.Net;
using Ip2Service.Rules;
using k8s.Models;

namespace Ip2Service.Endpoints;

/// <summary>
/// Reads one EndpointSlice (discovery.k8s.io/v1), IPv4 or IPv6 (a dual-stack Service has one slice per family). An
/// endpoint is used when it is ready and not terminating (a missing "ready" means ready and a missing "terminating"
/// means not terminating, as the API defines them); its first address is the DNAT target, as kube-proxy does, since
/// an endpoint's addresses are one pod.
/// </summary>
internal static class EndpointSliceParser
{
    public static ParsedSlice Parse(V1EndpointSlice slice, string portName) => Parse(slice, [portName]);

    public static ParsedSlice Parse(V1EndpointSlice slice, IReadOnlyList<string> portNames)
    {
        var name = slice.Metadata?.Name ?? "";
        var problems = ImmutableArray.CreateBuilder<SliceProblem>();
        var addresses = ImmutableArray.CreateBuilder<IPAddress>();

        if (slice.AddressType is not ("IPv4" or "IPv6"))
        {
            problems.Add(new SliceProblem(name, SliceProblemReason.UnsupportedAddressType, $"addressType {slice.AddressType}"));
            return new ParsedSlice(name, ImmutableDictionary<string, ImmutableArray<BackendEndpoint>>.Empty, [], problems.ToImmutable());
        }
        var family = slice.AddressType == "IPv6" ? IpFamily.V6 : IpFamily.V4;

        var firsts = new List<(IPAddress Address, bool Usable)>();
        foreach (var endpoint in slice.Endpoints ?? [])
        {
            IPAddress? first = null;
            foreach (var text in endpoint.Addresses ?? [])
            {
                if (!Ipv4.TryParseAny(text, out var address))
                {
                    problems.Add(new SliceProblem(name, SliceProblemReason.MalformedAddress, $"address \"{text}\""));
                }
                else if (IpFamilies.Of(address) != family)
                {
                    problems.Add(new SliceProblem(name, SliceProblemReason.WrongFamily, $"address {text} in an {slice.AddressType} slice"));
                }
                else
                {
                    first ??= address;
                    addresses.Add(address);
                }
            }
            var isReady = endpoint.Conditions?.Ready ?? true;
            var isTerminating = endpoint.Conditions?.Terminating ?? false;
            if (first is not null)
            {
                firsts.Add((first, isReady && !isTerminating));
            }
        }

        var ready = ImmutableDictionary.CreateBuilder<string, ImmutableArray<BackendEndpoint>>(StringComparer.Ordinal);
        foreach (var portName in portNames.Distinct())
        {
            if (FindPort(slice, name, portName, problems) is { } port)
            {
                ready[portName] = [.. firsts.Where(f => f.Usable).Select(f => new BackendEndpoint(f.Address, port))];
            }
        }
        return new ParsedSlice(name, ready.ToImmutable(), addresses.ToImmutable(), problems.ToImmutable());
    }

    private static int? FindPort(V1EndpointSlice slice, string sliceName, string portName, ImmutableArray<SliceProblem>.Builder problems)
    {
        var port = (slice.Ports ?? []).FirstOrDefault(p =>
            (p.Name ?? "") == portName && (p.Protocol ?? "TCP") == "TCP");
        if (port is null)
        {
            problems.Add(new SliceProblem(sliceName, SliceProblemReason.MissingPort, $"no TCP port named \"{portName}\""));
            return null;
        }
        if (port.Port is not (>= 1 and <= 65535))
        {
            problems.Add(new SliceProblem(sliceName, SliceProblemReason.InvalidPort, $"port \"{portName}\" is {port.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"}"));
            return null;
        }
        return port.Port;
    }
}
