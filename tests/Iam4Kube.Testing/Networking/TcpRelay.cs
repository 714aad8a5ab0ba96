using System.Net;
using System.Net.Sockets;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// Forwards TCP connections from one address to another, in this process. In-process test servers (the fake
/// Kubernetes API server, WireMock) listen on 127.0.0.1, which a program running in another network namespace
/// cannot reach; a relay listening on the root end of a <see cref="VethLink"/> makes them reachable from there.
/// <code>
/// await using var relay = TcpRelay.Start(new IPEndPoint(link.LeftAddress!, 0), new IPEndPoint(IPAddress.Loopback, apiPort));
/// </code>
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly EndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly List<Task> _connections = [];

    private TcpRelay(Socket listener, EndPoint target)
    {
        _listener = listener;
        _target = target;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = AcceptAsync();
    }

    /// <summary>Where the relay listens (with the actual port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Listens on <paramref name="listen"/> (port 0: any free port) and forwards every connection to
    /// <paramref name="target"/>.</summary>
    public static TcpRelay Start(IPEndPoint listen, EndPoint target)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(listen);
            listener.Listen(128);
            return new TcpRelay(listener, target);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }
        await Task.WhenAll(connections);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var connection = RelayAsync(client);
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(connection);
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using (client)
        using (var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                await upstream.ConnectAsync(_target, _stop.Token);
                await using var clientStream = new NetworkStream(client, ownsSocket: false);
                await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);
                // Each direction passes its end of stream (or reset) on to the other side, so both finish.
                await Task.WhenAll(
                    CopyAsync(clientStream, upstream, upstreamStream),
                    CopyAsync(upstreamStream, client, clientStream));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // Connection over; nothing to report to a test.
            }
        }
    }

    private async Task CopyAsync(Stream from, Socket toSocket, Stream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
            toSocket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            try
            {
                toSocket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception inner) when (inner is SocketException or ObjectDisposedException)
            {
                // Already closed.
            }
        }
    }
}
