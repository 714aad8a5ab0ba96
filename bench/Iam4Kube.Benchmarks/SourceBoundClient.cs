using System.Net;
using System.Net.Sockets;

namespace Iam4Kube.Benchmarks;

/// <summary>HttpClients whose connections start from a chosen 127.x.y.z address: one simulated pod each (Linux).</summary>
internal static class SourceBoundClient
{
    public static HttpClient Create(IPAddress source, Uri baseAddress, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = 1,
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
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = timeout };
    }
}
