using System.Collections.Immutable;
using System.Net;
using Ip2Service.Endpoints;
using Ip2Service.Iptables;
using Ip2Service.Rules;

namespace Ip2Service.Hosting;

/// <summary>`ip2service run`: follow the Service's EndpointSlices and keep the node's rules in step.</summary>
internal sealed record RunOptions : CommandLineRequest
{
    public required ServiceReference Service { get; init; }

    public required InterceptTarget Intercept { get; init; }

    public string? Kubeconfig { get; init; }

    public required IPEndPoint AdminListen { get; init; }

    public required BackendChoice Backend { get; init; }

    public ImmutableArray<IPAddress> ExtraExclusions { get; init; } = [];

    public required LogOptions Log { get; init; }
}
