using System.Collections.Immutable;
using System.Net;
using Ip2Service.Rules;

namespace Ip2Service.Endpoints;

/// <summary>
/// The Service's EndpointSlices, merged: a Service has one slice per 100 endpoints and address family and, while the
/// EndpointSlice controller moves endpoints between slices, the same endpoint can briefly be in two. Keyed by slice
/// name. Not thread-safe; owned by the watcher loop.
/// </summary>
internal sealed class EndpointSliceIndex
{
    private readonly Dictionary<string, ParsedSlice> _slices = new(StringComparer.Ordinal);

    public int Count => _slices.Count;

    public void Upsert(ParsedSlice slice) => _slices[slice.Name] = slice;

    public void Remove(string name) => _slices.Remove(name);

    public void ReplaceAll(IEnumerable<ParsedSlice> slices)
    {
        _slices.Clear();
        foreach (var slice in slices)
        {
            _slices[slice.Name] = slice;
        }
    }

    /// <summary>For one route: the ready endpoints of its family on its port, from all slices; every endpoint address
    /// of that family in every slice, plus <paramref name="extraExclusions"/> of that family, excluded from
    /// interception.</summary>
    public EndpointSet Snapshot(InterceptRoute route, IEnumerable<IPAddress> extraExclusions)
    {
        var family = route.Target.Family;
        return EndpointSet.Create(
            _slices.Values.SelectMany(s => s.ReadyOn(route.PortName)).Where(e => e.Family == family),
            _slices.Values.SelectMany(s => s.Addresses).Concat(extraExclusions).Where(a => IpFamilies.Of(a) == family));
    }

    /// <summary>Every route's rules, in the routes' order.</summary>
    public ImmutableArray<TargetRules> Snapshot(IReadOnlyList<InterceptRoute> routes, IEnumerable<IPAddress> extraExclusions) =>
        [.. routes.Select(r => new TargetRules(r.Target, Snapshot(r, extraExclusions)))];
}
