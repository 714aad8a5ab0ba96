using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// Exact bytes to the metadata port from a chosen 127.x source address (a pod IP), where HttpClient would normalize
/// the request line, merge headers or refuse to send. One request per connection: the response is read until the
/// server closes the connection or until its Content-Length is complete.
/// </summary>
internal static class RawHttp
{
    public static async Task<Socket> ConnectAsync(string sourceIp, IPEndPoint server, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse(sourceIp), 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="request"/> as is and reads one response.</summary>
    public static async Task<RawResponse> SendAsync(string sourceIp, IPEndPoint server, byte[] request, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        using var socket = await ConnectAsync(sourceIp, server, cancel.Token);
        await socket.SendAsync(request, SocketFlags.None, cancel.Token);
        return await ReadResponseAsync(socket, cancel.Token);
    }

    public static Task<RawResponse> SendAsync(string sourceIp, IPEndPoint server, string request, TimeSpan? timeout = null) =>
        SendAsync(sourceIp, server, Encoding.Latin1.GetBytes(request), timeout);

    /// <summary>A request line and headers (CRLF-terminated lines), with <c>Host</c> and <c>Connection: close</c> added.</summary>
    public static string Request(string method, string target, params string[] headers)
    {
        var text = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: 169.254.169.254\r\n");
        foreach (var header in headers)
        {
            text.Append(header).Append("\r\n");
        }

        return text.Append("Connection: close\r\n\r\n").ToString();
    }

    public static async Task<RawResponse> ReadResponseAsync(Socket socket, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return RawResponse.Parse(received.ToArray(), reset: true);
            }

            if (read == 0)
            {
                return RawResponse.Parse(received.ToArray(), reset: false);
            }

            received.Write(buffer, 0, read);
            if (RawResponse.IsComplete(received.ToArray()))
            {
                return RawResponse.Parse(received.ToArray(), reset: false);
            }
        }
    }
}

/// <summary>An HTTP/1.1 response as received: status, headers (repeats kept) and body.</summary>
internal sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body, bool Reset)
{
    /// <summary>No response at all: the server closed or reset the connection without answering.</summary>
    public bool Closed => Status == 0;

    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public static bool IsComplete(byte[] bytes)
    {
        var end = HeaderEnd(bytes);
        if (end < 0)
        {
            return false;
        }

        var head = Encoding.Latin1.GetString(bytes, 0, end);
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return bytes.Length - (end + 4) >= int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }

            if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase))
            {
                return Encoding.Latin1.GetString(bytes, end + 4, bytes.Length - end - 4).EndsWith("0\r\n\r\n", StringComparison.Ordinal);
            }
        }

        return false;
    }

    public static RawResponse Parse(byte[] bytes, bool reset)
    {
        var end = HeaderEnd(bytes);
        if (end < 0)
        {
            return new RawResponse(0, [], Encoding.Latin1.GetString(bytes), reset);
        }

        var lines = Encoding.Latin1.GetString(bytes, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1)
            .Select(l => l.Split(':', 2))
            .Select(p => KeyValuePair.Create(p[0].Trim(), p.Length > 1 ? p[1].Trim() : ""))
            .ToList();
        var body = Encoding.UTF8.GetString(bytes, end + 4, bytes.Length - end - 4);
        if (headers.Any(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)))
        {
            body = Dechunk(body);
        }

        return new RawResponse(status, headers, body, reset);
    }

    private static int HeaderEnd(byte[] bytes) => bytes.AsSpan().IndexOf("\r\n\r\n"u8);

    private static string Dechunk(string chunked)
    {
        var body = new StringBuilder();
        var rest = chunked.AsSpan();
        while (rest.IndexOf("\r\n") is var lineEnd and > 0
               && int.TryParse(rest[..lineEnd], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var size)
               && size > 0 && rest.Length >= lineEnd + 2 + size)
        {
            body.Append(rest.Slice(lineEnd + 2, size));
            rest = rest[(lineEnd + 2 + size)..].TrimStart("\r\n");
        }

        return body.ToString();
    }
}
