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

    /// <summary>Every target to intercept and the Service port it goes to; the first is <see cref="Intercept"/>.</summary>
    public ImmutableArray<InterceptRoute> Routes { get; init; } = [];

    /// <summary>How often the live rules are read and compared with the last write.</summary>
    public TimeSpan ResyncInterval { get; init; } = Sync.RuleSyncer.DefaultResyncInterval;

    /// <summary>This pod's Node (downward API spec.nodeName); "" when not given.</summary>
    public string NodeName { get; init; } = "";

    /// <summary>The startup taint's key to lift from <see cref="NodeName"/> once the rules are live; "" for none.</summary>
    public string StartupTaint { get; init; } = "";

    public string? Kubeconfig { get; init; }

    public required IPEndPoint AdminListen { get; init; }

    public required BackendChoice Backend { get; init; }

    public ImmutableArray<IPAddress> ExtraExclusions { get; init; } = [];

    public required LogOptions Log { get; init; }
}
