using System.Net;
using System.Net.Sockets;

namespace Iam4Kube.Testing.Networking;

/// <summary>Ports for programs that must be told theirs on the command line.</summary>
public static class FreePorts
{
    /// <summary>A port the OS just had free on <paramref name="address"/> (another process could take it first; rare).</summary>
    public static int Pick(IPAddress address)
    {
        using var probe = new TcpListener(address, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
