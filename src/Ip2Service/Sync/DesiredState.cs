using Ip2Service.Rules;

namespace Ip2Service.Sync;

/// <summary>The endpoint set the rules should have. <see cref="Synced"/> is true once it comes from a complete
/// list of the Service's EndpointSlices (not just the fail-closed start).</summary>
internal sealed record DesiredState(EndpointSet Set, bool Synced);
