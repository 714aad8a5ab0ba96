using System.Collections.Immutable;
using System.Net;
using Ip2Service.Rules;

namespace Ip2Service.Endpoints;

/// <summary>What one EndpointSlice contributes: its ready endpoints on the service port, and the IPv4 address of
/// every endpoint in it (ready or not), which are iam4kube pods and so excluded from interception.</summary>
internal sealed record ParsedSlice(
    string Name,
    ImmutableArray<BackendEndpoint> Ready,
    ImmutableArray<IPAddress> Addresses,
    ImmutableArray<SliceProblem> Problems);
