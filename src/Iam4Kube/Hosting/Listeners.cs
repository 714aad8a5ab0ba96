using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Iam4Kube.Hosting;

/// <summary>
/// The Kestrel listeners, one per named door (<see cref="Doors"/>). After start-up their endpoints hold the ports
/// actually bound (port 0 in tests), and every request is told apart by the port it arrived on: an endpoint
/// answers only on its own door's listener, so admin endpoints are invisible on the metadata port and metadata
/// paths on the admin port. Every door's connections are bounded by the <see cref="ConnectionLimiter"/>.
/// </summary>
internal sealed class Listeners(ConnectionLimiter limits)
{
    private readonly List<(string Door, ListenOptions Listen)> _doors = [];

    public void Add(string door, ListenOptions listen)
    {
        listen.Use(limits.For(door));
        _doors.Add((door, listen));
    }

    public IPEndPoint EndpointOf(string door) =>
        _doors.Find(d => d.Door == door).Listen?.IPEndPoint ?? throw new InvalidOperationException($"not listening for the {door} door");

    public IPEndPoint MetadataEndpoint => EndpointOf(Doors.Metadata);

    public IPEndPoint AdminEndpoint => EndpointOf(Doors.Admin);

    /// <summary>The door whose listener <paramref name="context"/> arrived on, or null for none.</summary>
    public string? DoorOf(HttpContext context)
    {
        var port = context.Connection.LocalPort;
        foreach (var (door, listen) in _doors)
        {
            if (listen.IPEndPoint?.Port == port)
            {
                return door;
            }
        }

        return null;
    }
}

/// <summary>The names of iam4kube's doors; an endpoint carries <see cref="ServedOn"/> to say which one it belongs to.</summary>
internal static class Doors
{
    /// <summary>The EC2 instance metadata API, what pods reach through ip2service (the default for endpoints).</summary>
    public const string Metadata = "metadata";

    /// <summary>Health, readiness and metrics: for the kubelet and Prometheus, never for pods' SDKs.</summary>
    public const string Admin = "admin";

    /// <summary>EKS Pod Identity's credentials endpoint: a ServiceAccount token, not an IP, says who is calling.</summary>
    public const string Token = "token";

    /// <summary>Admission webhooks over HTTPS, for kube-apiserver only.</summary>
    public const string Webhook = "webhook";
}

/// <summary>Endpoint metadata: the door this endpoint answers on (endpoints without it belong to the metadata door).</summary>
internal sealed record ServedOn(string Door)
{
    public static readonly ServedOn Admin = new(Doors.Admin);
}
