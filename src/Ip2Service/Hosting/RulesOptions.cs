using System.Collections.Immutable;
using System.Net;
using Ip2Service.Iptables;
using Ip2Service.Rules;

namespace Ip2Service.Hosting;

/// <summary>`ip2service render` (print the iptables-restore input) and `ip2service apply` (write it once) for a
/// fixed endpoint list.</summary>
internal sealed record RulesOptions : CommandLineRequest
{
    public required bool Apply { get; init; }

    public required ImmutableArray<BackendEndpoint> Endpoints { get; init; }

    public required InterceptTarget Intercept { get; init; }

    public ImmutableArray<IPAddress> ExtraExclusions { get; init; } = [];

    public required BackendChoice Backend { get; init; }

    public required LogOptions Log { get; init; }

    public EndpointSet EndpointSet => EndpointSet.ForEndpoints(Endpoints, ExtraExclusions);
}
