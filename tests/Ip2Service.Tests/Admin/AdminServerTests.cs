using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Ip2Service.Admin;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ip2Service.Tests.Admin;

/// <summary>
/// The admin server's HTTP/1.1 on the wire, byte level: what probes and Prometheus send is answered and the connection
/// kept; what a hostile or broken client sends (oversized heads, slowloris, unknown paths and methods, bodies, floods
/// of connections) gets a defined answer within a bound and costs nothing after it.
/// </summary>
public sealed class AdminServerTests : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly AdminServerLimits Limits = new()
    {
        MaxHeadBytes = 1024,
        HeadTimeout = TimeSpan.FromSeconds(1),
        KeepAliveTimeout = TimeSpan.FromSeconds(2),
        MaxConnections = 4,
    };

    private readonly AdminServer _server;

    public AdminServerTests() => _server = AdminServer.Start(new IPEndPoint(IPAddress.Loopback, 0), Answer, Limits, NullLogger.Instance);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    /// <summary>GET and HEAD of /hello: "hi\n"; any other path: 404; another method: 405.</summary>
    private static ValueTask<AdminResponse> Answer(AdminRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(request.Path != "/hello" ? AdminResponse.Empty(404)
            : request.Method is "GET" or "HEAD" ? AdminResponse.Text(200, "hi\n")
            : new AdminResponse(405, null, ReadOnlyMemory<byte>.Empty, "GET, HEAD"));

    [Fact]
    public async Task AnswersAGetWithStatusLengthTypeAndBody()
    {
        var answer = await ExchangeAsync("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nDate: ", answer, StringComparison.Ordinal);
        Assert.EndsWith(" GMT\r\n\r\nhi\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeepsTheConnectionForPipelinedRequestsAndAnswersEachInOrder()
    {
        var answer = await ExchangeAsync(
            "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nHEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        Assert.Equal(["200 OK", "200 OK", "404 Not Found"], StatusLines(answer));
        // HEAD: the GET's headers (its length too) and no body, so the third answer follows the second's head directly.
        Assert.Single(Occurrences(answer, "hi\n"));
        Assert.Contains("Content-Length: 3\r\nContent-Type: text/plain; charset=utf-8\r\nDate: ", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnswersUnknownPaths404AndOtherMethods405WithAllow()
    {
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n", await ExchangeAsync("GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nAllow: GET, HEAD\r\n", await ExchangeAsync("DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /hello\r\nHost: x\r\n\r\n", "400 Bad Request")]
    [InlineData("GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request")]
    [InlineData("GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request")]
    [InlineData("G(T /hello HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request")]
    [InlineData("GET /hello HTTP/1.1\r\n\r\n", "400 Bad Request")]
    [InlineData("GET /hello HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "400 Bad Request")]
    [InlineData("GET /hello HTTP/1.1\r\nHost: x\r\nAccept : */*\r\n\r\n", "400 Bad Request")]
    [InlineData("GET /hello HTTP/1.1\r\nHost: x\r\nAccept: a\r\n  folded\r\n\r\n", "400 Bad Request")]
    [InlineData("GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "400 Bad Request")]
    [InlineData("GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "400 Bad Request")]
    [InlineData("GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", "505 HTTP Version Not Supported")]
    [InlineData("GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "413 Content Too Large")]
    [InlineData("GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "413 Content Too Large")]
    public async Task AnswersMalformedRequestsAndBodiesWithAnErrorAndCloses(string request, string status)
    {
        // No "Connection: close": the server closes by itself, so reading to the end finishes.
        var answer = await ExchangeAsync(request);

        Assert.Equal([status], StatusLines(answer));
        Assert.Contains("\r\nConnection: close\r\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnswersAnHttp10RequestAndCloses()
    {
        var answer = await ExchangeAsync("GET /hello HTTP/1.0\r\n\r\n");

        Assert.Equal(["200 OK"], StatusLines(answer));
        Assert.EndsWith("\r\n\r\nhi\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnswersAnOversizedHead431AndCloses()
    {
        var answer = await ExchangeAsync($"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', Limits.MaxHeadBytes)}\r\n\r\n");

        Assert.Equal(["431 Request Header Fields Too Large"], StatusLines(answer));
    }

    [Fact]
    public async Task AnswersAHeadThatDoesNotCompleteInTime408AndCloses()
    {
        // Slowloris: the head starts and then trickles, one header line at a time, never ending.
        using var client = await ConnectAsync();
        var stream = client.GetStream();
        var elapsed = Stopwatch.StartNew();
        await stream.WriteAsync("GET /hello HTTP/1.1\r\nHost: x\r\n"u8.ToArray());
        var trickle = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(200);
                    await stream.WriteAsync("X-Slow: 1\r\n"u8.ToArray());
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The server closed the connection: the trickle ends.
            }
        });

        var answer = await ReadToEndAsync(stream);

        Assert.Equal(["408 Request Timeout"], StatusLines(answer));
        // Less the timer's granularity, as for the keep-alive timeout below: CancelAfter counts in whole milliseconds
        // of its own clock and fired 0.8 ms short of the Stopwatch's second on a CI run.
        Assert.InRange(elapsed.Elapsed, Limits.HeadTimeout - TimeSpan.FromMilliseconds(100), Bound);
        client.Close();
        await trickle.WaitAsync(Bound);
    }

    [Fact]
    public async Task ClosesAnIdleKeptAliveConnectionSilentlyAfterTheKeepAliveTimeout()
    {
        using var client = await ConnectAsync();
        var stream = client.GetStream();
        await stream.WriteAsync("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var elapsed = Stopwatch.StartNew();

        var answer = await ReadToEndAsync(stream);

        Assert.Equal(["200 OK"], StatusLines(answer));
        Assert.InRange(elapsed.Elapsed, Limits.KeepAliveTimeout - TimeSpan.FromMilliseconds(100), Bound);
    }

    [Fact]
    public async Task ClosesConnectionsBeyondTheLimitAndKeepsServingTheOthers()
    {
        var held = await HoldServedConnectionsAsync();
        try
        {
            using var extra = await ConnectAsync();
            await extra.GetStream().WriteAsync("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            Assert.Equal("", await ReadToEndAsync(extra.GetStream()));

            await held[0].GetStream().WriteAsync("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            Assert.Equal(["200 OK"], StatusLines(await ReadToEndAsync(held[0].GetStream())));
        }
        finally
        {
            held.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task ServesAgainOnceConnectionsBeyondTheLimitAreGone()
    {
        (await HoldServedConnectionsAsync()).ForEach(c => c.Dispose());

        // The server notices the closes; within the bound a new connection is served.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var answer = await ExchangeAsync("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            if (answer.Length > 0)
            {
                Assert.Equal(["200 OK"], StatusLines(answer));
                break;
            }
            Assert.True(deadline.Elapsed < Bound, "no connection served after the held ones closed");
            await Task.Delay(50);
        }
    }

    [Fact]
    public void RefusesToStartOnAnAddressInUse()
    {
        Assert.Throws<SocketException>(() => AdminServer.Start(_server.LocalEndPoint, Answer, Limits, NullLogger.Instance));
    }

    /// <summary>As many kept-alive connections as the limit allows, each known to be served (answered once) before the
    /// next one opens.</summary>
    private async Task<List<TcpClient>> HoldServedConnectionsAsync()
    {
        var held = new List<TcpClient>();
        for (var i = 0; i < Limits.MaxConnections; i++)
        {
            held.Add(await ConnectAsync());
            await held[^1].GetStream().WriteAsync("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            await ReadAnswerAsync(held[^1].GetStream(), "hi\n");
        }
        return held;
    }

    private async Task<TcpClient> ConnectAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync(_server.LocalEndPoint);
        return client;
    }

    private async Task<string> ExchangeAsync(string request)
    {
        using var client = await ConnectAsync();
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        return await ReadToEndAsync(stream);
    }

    /// <summary>Everything until the server closes (a reset after its answer counts as a close), within the bound.</summary>
    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                answer.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // Reset by the server after it answered (unread request bytes): what was answered is in the buffer.
        }
        return Encoding.Latin1.GetString(answer.ToArray());
    }

    private static async Task ReadAnswerAsync(NetworkStream stream, string endsWith)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var answer = "";
        var buffer = new byte[4096];
        while (!answer.EndsWith(endsWith, StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.NotEqual(0, read);
            answer += Encoding.Latin1.GetString(buffer, 0, read);
        }
    }

    /// <summary>The status (code and reason) of every answer, in order (an answer may follow a body on its line).</summary>
    private static List<string> StatusLines(string answer) =>
        [.. Regex.Matches(answer, @"HTTP/1\.1 (\d{3} [^\r]*)\r\n").Select(m => m.Groups[1].Value)];

    private static List<int> Occurrences(string text, string part)
    {
        var found = new List<int>();
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
        {
            found.Add(i);
        }
        return found;
    }
}
