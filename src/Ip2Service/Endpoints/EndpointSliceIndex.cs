using System.Net;
using Ip2Service.Rules;

namespace Ip2Service.Endpoints;

/// <summary>
/// The Service's EndpointSlices, merged: a Service has one slice per 100 endpoints and, while the EndpointSlice
/// controller moves endpoints between slices, the same endpoint can briefly be in two. Keyed by slice name.
/// Not thread-safe; owned by the watcher loop.
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

    /// <summary>The ready endpoints of all slices; every endpoint address of every slice, plus
    /// <paramref name="extraExclusions"/>, excluded from interception.</summary>
    public EndpointSet Snapshot(IEnumerable<IPAddress> extraExclusions) =>
        EndpointSet.Create(
            _slices.Values.SelectMany(s => s.Ready),
            _slices.Values.SelectMany(s => s.Addresses).Concat(extraExclusions));
}
