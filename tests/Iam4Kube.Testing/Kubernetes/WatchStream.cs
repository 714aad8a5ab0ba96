using System.Buffers;
using System.Threading.Channels;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// One open watch connection. Events are queued to it, under the cluster's lock, in resourceVersion order; its
/// own loop writes them to the chunked response, one JSON object per line.
/// </summary>
internal sealed class WatchStream(ResourceKind kind, ObjectFilter filter, bool bookmarks)
{
    // Flush at least this often while a burst is queued, so memory stays bounded when thousands of events queue at once.
    private const int FlushThreshold = 64 * 1024;

    private readonly Channel<WatchFrame> _frames = Channel.CreateUnbounded<WatchFrame>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    public ResourceKind Kind { get; } = kind;

    public ObjectFilter Filter { get; } = filter;

    public bool Bookmarks { get; } = bookmarks;

    /// <summary>Live events at or below this resourceVersion are not for this watch (it started after them).</summary>
    public long StartResourceVersion { get; set; }

    private volatile bool _silenced;

    /// <summary>Whether the connection went silent: it stays open but nothing more is written to it.</summary>
    public bool Silenced => _silenced;

    public void Enqueue(byte[] line) => _frames.Writer.TryWrite(new WatchFrame(line));

    /// <summary>From now on nothing reaches the client, not even the end of the stream: a half-open connection.</summary>
    public void Silence()
    {
        _silenced = true;
        _frames.Writer.TryComplete();
    }

    /// <summary>Ends the connection abruptly after the frames already queued, optionally after half a frame.</summary>
    public void EnqueueDrop(byte[] partialLine)
    {
        _frames.Writer.TryWrite(new WatchFrame(partialLine, Drop: true));
        _frames.Writer.TryComplete();
    }

    /// <summary>Ends the stream cleanly after the frames already queued (a terminated chunked body).</summary>
    public void Complete() => _frames.Writer.TryComplete();

    public async Task WriteAsync(HttpContext context, CancellationToken stop)
    {
        var writer = context.Response.BodyWriter;
        var reader = _frames.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stop))
            {
                var pending = 0;
                while (reader.TryRead(out var frame))
                {
                    if (_silenced)
                    {
                        return;
                    }

                    if (frame.Drop)
                    {
                        if (frame.Bytes.Length > 0)
                        {
                            writer.Write(frame.Bytes);
                            await writer.FlushAsync(CancellationToken.None);
                        }

                        context.Abort();
                        return;
                    }

                    writer.Write(frame.Bytes);
                    pending += frame.Bytes.Length;
                    if (pending >= FlushThreshold)
                    {
                        if ((await writer.FlushAsync(CancellationToken.None)).IsCompleted)
                        {
                            return;
                        }

                        pending = 0;
                    }
                }

                if ((await writer.FlushAsync(CancellationToken.None)).IsCompleted)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // timeoutSeconds elapsed or the client went away: end the response as the apiserver does.
        }
        catch (IOException)
        {
            // The client went away mid-write.
        }
    }
}
