using System.Collections.Immutable;
using System.Net;

namespace Ip2Service.Rules;

/// <summary>
/// What the rules must say: where to send intercepted connections (<see cref="Ready"/>), and whose connections to
/// leave alone (<see cref="Excluded"/>: the iam4kube pods themselves, which need the node's real metadata service).
/// Both lists are sorted and without duplicates, so equal sets render to identical rules.
/// </summary>
internal sealed record EndpointSet
{
    private EndpointSet(ImmutableArray<BackendEndpoint> ready, ImmutableArray<IPAddress> excluded)
    {
        Ready = ready;
        Excluded = excluded;
    }

    public static EndpointSet Empty { get; } = new([], []);

    public ImmutableArray<BackendEndpoint> Ready { get; }

    public ImmutableArray<IPAddress> Excluded { get; }

    public static EndpointSet Create(IEnumerable<BackendEndpoint> ready, IEnumerable<IPAddress> excluded) =>
        new(
            [.. ready.Distinct().Order()],
            [.. excluded.Distinct().Order(Comparer<IPAddress>.Create(Ipv4.Compare))]);

    /// <summary>The set that `render` and `apply` mean: these endpoints, each also excluded as a source (they are
    /// iam4kube pods), plus any extra sources to exclude.</summary>
    public static EndpointSet ForEndpoints(IEnumerable<BackendEndpoint> ready, IEnumerable<IPAddress> extraExclusions)
    {
        var endpoints = ready.ToList();
        return Create(endpoints, endpoints.Select(e => e.Address).Concat(extraExclusions));
    }

    public bool Equals(EndpointSet? other) =>
        other is not null && Ready.SequenceEqual(other.Ready) && Excluded.SequenceEqual(other.Excluded);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var endpoint in Ready)
        {
            hash.Add(endpoint);
        }
        foreach (var address in Excluded)
        {
            hash.Add(address);
        }
        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"ready [{string.Join(", ", Ready)}], excluded [{string.Join(", ", Excluded)}]";
}
