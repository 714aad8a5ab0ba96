using System.Net;
using System.Net.Sockets;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// HttpClients whose TCP connections start from a chosen local address: one simulated pod each (any 127.x.y.z works
/// on Linux without setup). <c>maxConnections</c> limits the pool, e.g. to keep one connection per simulated pod.
/// </summary>
public static class SourceBoundClient
{
    public static HttpClient Create(IPAddress source, Uri baseAddress, TimeSpan? timeout = null, int maxConnections = int.MaxValue)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = maxConnections,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }
}
