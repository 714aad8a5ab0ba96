using System.Collections.Immutable;
using System.Net;
using Ip2Service.Rules;

namespace Ip2Service.Endpoints;

/// <summary>What one EndpointSlice contributes: its ready endpoints on each service port asked for, and the address
/// of every endpoint in it (ready or not), which are iam4kube pods and so excluded from interception. A slice holds
/// one address family (its addressType).</summary>
internal sealed record ParsedSlice(
    string Name,
    ImmutableDictionary<string, ImmutableArray<BackendEndpoint>> ReadyByPort,
    ImmutableArray<IPAddress> Addresses,
    ImmutableArray<SliceProblem> Problems)
{
    public ImmutableArray<BackendEndpoint> ReadyOn(string portName) => ReadyByPort.GetValueOrDefault(portName, []);
}
