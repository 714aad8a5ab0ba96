using System.Collections.Immutable;
using Ip2Service.Rules;

namespace Ip2Service.Sync;

/// <summary>The endpoint set each intercept target's rules should have. <see cref="Synced"/> is true once it comes
/// from a complete list of the Service's EndpointSlices (not just the fail-closed start).</summary>
internal sealed record DesiredState(ImmutableArray<TargetRules> Rules, bool Synced)
{
    /// <summary>The targets of one address family, in order.</summary>
    public ImmutableArray<TargetRules> Of(IpFamily family) => [.. Rules.Where(r => r.Target.Family == family)];
}
