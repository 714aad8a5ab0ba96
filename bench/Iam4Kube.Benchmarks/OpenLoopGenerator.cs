using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Iam4Kube.Benchmarks;

/// <summary>
/// Open-loop load: request i is due at start + i/rate whatever happened to earlier ones, sent on one of several
/// keep-alive connections (pipelined: a connection never waits for a reply before sending). Latency is measured
/// from the scheduled time, not from the send, so a stall on either side is counted in full (no coordinated
/// omission). The sender's own lateness is reported separately so the generator's noise is visible.
/// </summary>
internal static class OpenLoopGenerator
{
    public sealed record Result(double[] LatenciesMs, double[] SendLagMs, int Sent, int Completed, int Errors);

    public static async Task<Result> RunAsync(IPEndPoint server, string pathAndQuery, double rate, TimeSpan duration, int connections)
    {
        var request = Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n");
        var total = (int)(rate * duration.TotalSeconds);
        var scheduledTicks = new long[total];
        var completedTicks = new long[total];
        var sentTicks = new long[total];
        var channels = new Connection[connections];
        for (var c = 0; c < connections; c++)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(server);
            channels[c] = new Connection(socket, completedTicks);
        }

        var receivers = channels.Select(c => Task.Run(c.ReceiveAsync)).ToArray();
        var ticksPerRequest = Stopwatch.Frequency / rate;
        var errors = 0;
        var sender = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            var next = 0;
            var batches = new List<int>[connections];
            for (var c = 0; c < connections; c++)
            {
                batches[c] = [];
            }

            while (next < total)
            {
                var now = Stopwatch.GetTimestamp();
                while (next < total && start + (long)(next * ticksPerRequest) <= now)
                {
                    scheduledTicks[next] = start + (long)(next * ticksPerRequest);
                    batches[next % connections].Add(next);
                    next++;
                }

                for (var c = 0; c < connections; c++)
                {
                    if (batches[c].Count == 0)
                    {
                        continue;
                    }

                    var buffer = new byte[request.Length * batches[c].Count];
                    for (var i = 0; i < batches[c].Count; i++)
                    {
                        request.CopyTo(buffer, i * request.Length);
                        channels[c].Expect(batches[c][i]);
                    }

                    try
                    {
                        channels[c].Socket.Send(buffer);
                    }
                    catch (SocketException)
                    {
                        Interlocked.Add(ref errors, batches[c].Count);
                    }

                    var sent = Stopwatch.GetTimestamp();
                    foreach (var i in batches[c])
                    {
                        sentTicks[i] = sent;
                    }

                    batches[c].Clear();
                }

                // Yield rather than sleep: a 1 ms sleep would batch sends and add its own latency. Yielding lets
                // the server (on this same 2-core machine) run whenever it has work.
                Thread.Yield();
            }
        }) { IsBackground = true, Priority = ThreadPriority.AboveNormal };
        sender.Start();
        sender.Join();

        var deadline = Stopwatch.GetTimestamp() + (5 * Stopwatch.Frequency);
        while (channels.Sum(c => c.Completed) < total - errors && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(10);
        }

        foreach (var c in channels)
        {
            c.Socket.Dispose();
        }

        await Task.WhenAll(receivers);
        var toMs = 1000.0 / Stopwatch.Frequency;
        var latencies = new List<double>(total);
        var lags = new double[total];
        var completed = 0;
        for (var i = 0; i < total; i++)
        {
            lags[i] = (sentTicks[i] - scheduledTicks[i]) * toMs;
            if (completedTicks[i] != 0)
            {
                latencies.Add((completedTicks[i] - scheduledTicks[i]) * toMs);
                completed++;
            }
        }

        latencies.Sort();
        Array.Sort(lags);
        return new Result([.. latencies], lags, total, completed, errors + channels.Sum(c => c.Errors));
    }

    /// <summary>One keep-alive connection: requests go out in order, so replies come back in that order.</summary>
    private sealed class Connection(Socket socket, long[] completedTicks)
    {
        private readonly Queue<int> _inFlight = new();
        private int _completed;

        public Socket Socket => socket;

        public int Completed => Volatile.Read(ref _completed);

        public int Errors { get; private set; }

        public void Expect(int index)
        {
            lock (_inFlight)
            {
                _inFlight.Enqueue(index);
            }
        }

        public async Task ReceiveAsync()
        {
            var buffer = new byte[256 * 1024];
            var filled = 0;
            try
            {
                while (true)
                {
                    var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }

                    filled += read;
                    var consumed = 0;
                    while (TryParseResponse(buffer.AsSpan(consumed, filled - consumed), out var length, out var ok))
                    {
                        consumed += length;
                        var now = Stopwatch.GetTimestamp();
                        int index;
                        lock (_inFlight)
                        {
                            index = _inFlight.Dequeue();
                        }

                        if (ok)
                        {
                            completedTicks[index] = now;
                        }
                        else
                        {
                            Errors++;
                        }

                        Interlocked.Increment(ref _completed);
                    }

                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // closed at the end of the run
            }
        }

        /// <summary>One complete HTTP/1.1 response (Content-Length or chunked body) at the start of <paramref name="data"/>?</summary>
        private static bool TryParseResponse(ReadOnlySpan<byte> data, out int length, out bool ok)
        {
            length = 0;
            ok = false;
            var headerEnd = data.IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                return false;
            }

            var headers = Encoding.ASCII.GetString(data[..headerEnd]);
            ok = headers.StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
            var bodyStart = headerEnd + 4;
            var contentLength = HeaderValue(headers, "content-length");
            if (contentLength is not null)
            {
                var total = bodyStart + int.Parse(contentLength, System.Globalization.CultureInfo.InvariantCulture);
                length = total;
                return data.Length >= total;
            }

            if (HeaderValue(headers, "transfer-encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                var position = bodyStart;
                while (true)
                {
                    var lineEnd = data[position..].IndexOf("\r\n"u8);
                    if (lineEnd < 0)
                    {
                        return false;
                    }

                    var size = Convert.ToInt32(Encoding.ASCII.GetString(data.Slice(position, lineEnd)).Split(';')[0].Trim(), 16);
                    position += lineEnd + 2 + size + 2;
                    if (position > data.Length)
                    {
                        return false;
                    }

                    if (size == 0)
                    {
                        length = position;
                        return true;
                    }
                }
            }

            length = bodyStart;
            return true;
        }

        private static string? HeaderValue(string headers, string name)
        {
            foreach (var line in headers.Split("\r\n"))
            {
                var colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return line[(colon + 1)..].Trim();
                }
            }

            return null;
        }
    }
}
