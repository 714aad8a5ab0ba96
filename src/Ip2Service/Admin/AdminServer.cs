using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ip2Service.Admin;

/// <summary>
/// ip2service's admin HTTP server on --admin-listen (/healthz, /readyz, /metrics): HTTP/1.1 on a plain socket, only as
/// much of it as kubelet probes and Prometheus use (GET and HEAD, keep-alive and pipelining, no request bodies).
/// It replaces ASP.NET Core and Kestrel in this binary, which made up most of the NativeAOT image (issue 15:
/// docs/benchmarks.md). Every request a hostile or broken client can send has a defined answer and a bound: a head
/// larger than <see cref="AdminServerLimits.MaxHeadBytes"/> gets 431, a head not complete within
/// <see cref="AdminServerLimits.HeadTimeout"/> (slowloris) 408, a malformed one 400, a body 413, an unknown path 404,
/// another method 405; each of these closes the connection. At most <see cref="AdminServerLimits.MaxConnections"/>
/// connections are served at once; more are closed at once, so the probes' own connections are the ones kept.
/// </summary>
internal sealed partial class AdminServer : IAsyncDisposable
{
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly Socket _listener;
    private readonly Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> _answer;
    private readonly AdminServerLimits _limits;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _connections;
    private int _activeConnections;

    private AdminServer(Socket listener, Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> answer, AdminServerLimits limits, ILogger logger)
    {
        _listener = listener;
        _answer = answer;
        _limits = limits;
        _logger = logger;
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>Where the server listens (the port chosen by the kernel when asked for port 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Binds <paramref name="endpoint"/> now (a <see cref="SocketException"/> if it cannot), then serves.</summary>
    public static AdminServer Start(IPEndPoint endpoint, Func<AdminRequest, CancellationToken, ValueTask<AdminResponse>> answer, AdminServerLimits limits, ILogger logger)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                // [::] serves IPv4 too, as Kestrel did.
                listener.DualMode = true;
            }
            listener.Bind(endpoint);
            listener.Listen(limits.MaxConnections);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new AdminServer(listener, answer, limits, logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        await _accepting;
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && _stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                // A connection reset before it was accepted, or out of descriptors: keep accepting.
                Log.AcceptFailed(_logger, e.SocketErrorCode.ToString());
                continue;
            }
            if (Interlocked.Increment(ref _activeConnections) > _limits.MaxConnections)
            {
                Interlocked.Decrement(ref _activeConnections);
                Log.Rejected(_logger, Describe(client), "too many connections", 0);
                client.Dispose();
                continue;
            }
            connections.RemoveAll(t => t.IsCompleted);
            connections.Add(ServeAsync(client, Interlocked.Increment(ref _connections)));
        }
        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(Socket client, int id)
    {
        try
        {
            client.NoDelay = true;
            await using var stream = new NetworkStream(client, ownsSocket: true);
            var buffer = new byte[_limits.MaxHeadBytes];
            var filled = 0;
            while (true)
            {
                var head = await ReadHeadAsync(stream, buffer, filled, client);
                if (head.Rejection is { } rejection)
                {
                    if (rejection.Status != 0)
                    {
                        Log.Rejected(_logger, Describe(client), rejection.Reason, rejection.Status);
                        await WriteAsync(stream, AdminResponse.Empty(rejection.Status), head: false, close: true);
                    }
                    return;
                }
                var request = AdminRequestParser.Parse(buffer.AsSpan(0, head.Length));
                // Bytes after this head belong to the next (pipelined) request.
                filled = head.Filled - head.Length;
                head.Leftover(buffer, filled);
                if (request.Problem is { } problem)
                {
                    Log.Rejected(_logger, Describe(client), problem.Reason, problem.Status);
                    await WriteAsync(stream, AdminResponse.Empty(problem.Status), head: false, close: true);
                    return;
                }
                var response = await _answer(request, _stopping.Token);
                if (request.HasBody && response.Status is not (404 or 405))
                {
                    // Bodies are never read (no admin request has one): refuse and close rather than drain.
                    Log.Rejected(_logger, Describe(client), "request body", 413);
                    await WriteAsync(stream, AdminResponse.Empty(413), head: false, close: true);
                    return;
                }
                var close = !request.KeepAlive || request.HasBody || _stopping.IsCancellationRequested;
                await WriteAsync(stream, response, request.Method == "HEAD", close);
                if (close)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away, or the server stops: nothing to answer.
            Log.ConnectionEnded(_logger, id, e.Message);
        }
        finally
        {
            Interlocked.Decrement(ref _activeConnections);
        }

        async Task WriteAsync(NetworkStream stream, AdminResponse response, bool head, bool close)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_limits.HeadTimeout);
            await stream.WriteAsync(response.Serialize(head, close, DateTimeOffset.UtcNow), timeout.Token);
            if (close)
            {
                // A lingering close: closing with unread request bytes would send a reset, which can destroy the answer
                // before the client reads it. Send FIN, then discard what the client still sends, bounded in bytes
                // and time.
                client.Shutdown(SocketShutdown.Send);
                var discard = new byte[4096];
                for (var total = 0; total < 64 * 1024;)
                {
                    var read = await stream.ReadAsync(discard, timeout.Token);
                    if (read == 0)
                    {
                        break;
                    }
                    total += read;
                }
            }
        }
    }

    /// <summary>Reads until a complete head (up to the empty line) is in <paramref name="buffer"/>: waits up to the
    /// keep-alive timeout for its first byte, then up to the head timeout for the rest.</summary>
    private async Task<HeadRead> ReadHeadAsync(NetworkStream stream, byte[] buffer, int filled, Socket client)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(filled == 0 ? _limits.KeepAliveTimeout : _limits.HeadTimeout);
        var started = filled > 0;
        try
        {
            while (true)
            {
                var end = buffer.AsSpan(0, filled).IndexOf(HeadEnd);
                if (end >= 0)
                {
                    return new HeadRead(end + HeadEnd.Length, filled, null);
                }
                if (filled == buffer.Length)
                {
                    return new HeadRead(0, filled, new AdminProblem(431, $"request head over {buffer.Length} bytes"));
                }
                var read = await stream.ReadAsync(buffer.AsMemory(filled), timeout.Token);
                if (read == 0)
                {
                    // Closed by the client: between requests that is the normal end; within a head nothing can be
                    // answered to a half-closed peer that will not read.
                    return new HeadRead(0, filled, new AdminProblem(0, "closed"));
                }
                if (!started)
                {
                    started = true;
                    timeout.CancelAfter(_limits.HeadTimeout);
                }
                filled += read;
            }
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            return started
                ? new HeadRead(0, filled, new AdminProblem(408, $"request head not complete within {_limits.HeadTimeout.TotalSeconds:0.#} s"))
                : new HeadRead(0, filled, new AdminProblem(0, "idle"));
        }
    }

    private static string Describe(Socket client) => client.RemoteEndPoint?.ToString() ?? "unknown";

    /// <summary>A head of <see cref="Length"/> bytes read, <see cref="Filled"/> bytes in the buffer in all; or why
    /// there is none (status 0: close without an answer).</summary>
    private readonly record struct HeadRead(int Length, int Filled, AdminProblem? Rejection)
    {
        /// <summary>Moves what follows this head to the front of the buffer.</summary>
        public void Leftover(byte[] buffer, int count) => Buffer.BlockCopy(buffer, Length, buffer, 0, count);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Admin HTTP: refused a request from {Client} ({Reason}), answered {Status}")]
        public static partial void Rejected(ILogger logger, string client, string reason, int status);

        [LoggerMessage(2, LogLevel.Debug, "Admin HTTP: connection {Connection} ended: {Reason}")]
        public static partial void ConnectionEnded(ILogger logger, int connection, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Admin HTTP: accepting a connection failed ({Error})")]
        public static partial void AcceptFailed(ILogger logger, string error);
    }
}

/// <summary>The admin server's bounds. Defaults: a head (request line and headers) up to 8 KiB, complete within 10 s
/// of its first byte; an idle keep-alive connection kept 130 s (Kestrel's default, longer than Prometheus's scrape
/// interval); 64 connections at once.</summary>
internal sealed record AdminServerLimits
{
    public int MaxHeadBytes { get; init; } = 8 * 1024;

    public TimeSpan HeadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(130);

    public int MaxConnections { get; init; } = 64;
}

/// <summary>A refused request: the status to answer (0: none, just close) and why.</summary>
internal sealed record AdminProblem(int Status, string Reason);

/// <summary>One request as the admin server understood it.</summary>
/// <param name="Method">The method token (case-sensitive, RFC 9110).</param>
/// <param name="Path">The path, without the query.</param>
/// <param name="Query">The query without '?', or empty.</param>
/// <param name="Accept">The Accept header (the values of all Accept lines, comma-joined), or empty.</param>
/// <param name="KeepAlive">HTTP/1.1 without "Connection: close".</param>
/// <param name="HasBody">A Content-Length above 0 or a Transfer-Encoding.</param>
/// <param name="Problem">Set when the request is malformed: answer it and close.</param>
internal sealed record AdminRequest(string Method, string Path, string Query, string Accept, bool KeepAlive, bool HasBody, AdminProblem? Problem = null);

/// <summary>An answer: status, content type (none when null) and body; <see cref="Allow"/> for 405.</summary>
internal sealed record AdminResponse(int Status, string? ContentType, ReadOnlyMemory<byte> Body, string? Allow = null)
{
    public static AdminResponse Empty(int status) => new(status, null, ReadOnlyMemory<byte>.Empty);

    public static AdminResponse Text(int status, string text) => new(status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text));

    /// <summary>The bytes on the wire: status line, headers, and the body unless answering HEAD.</summary>
    public byte[] Serialize(bool head, bool close, DateTimeOffset now)
    {
        var text = new StringBuilder(160)
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {Status} {Reason(Status)}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {Body.Length}\r\n");
        if (ContentType is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Content-Type: {ContentType}\r\n");
        }
        if (Allow is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Allow: {Allow}\r\n");
        }
        if (close)
        {
            text.Append("Connection: close\r\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"Date: {now:r}\r\n\r\n");
        var headBytes = Encoding.ASCII.GetBytes(text.ToString());
        if (head || Body.IsEmpty)
        {
            return headBytes;
        }
        var bytes = new byte[headBytes.Length + Body.Length];
        headBytes.CopyTo(bytes, 0);
        Body.Span.CopyTo(bytes.AsSpan(headBytes.Length));
        return bytes;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    };
}
