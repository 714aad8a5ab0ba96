using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Iam4Kube.Hosting;

/// <summary>
/// The two Kestrel listeners. After start-up their endpoints hold the ports actually bound (port 0 in tests), and
/// every request is told apart by the port it arrived on: admin endpoints are invisible on the metadata port and
/// metadata paths on the admin port.
/// </summary>
internal sealed class Listeners
{
    public ListenOptions? Metadata { get; set; }

    public ListenOptions? Admin { get; set; }

    public IPEndPoint MetadataEndpoint => Metadata?.IPEndPoint ?? throw new InvalidOperationException("not listening");

    public IPEndPoint AdminEndpoint => Admin?.IPEndPoint ?? throw new InvalidOperationException("not listening");

    public bool IsAdmin(HttpContext context) => Admin?.IPEndPoint is { } admin && context.Connection.LocalPort == admin.Port;
}
