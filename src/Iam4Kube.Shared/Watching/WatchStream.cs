using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Iam4Kube.Watching;

/// <summary>
/// One watch request (<c>GET …?watch=true</c>) and its newline-delimited event stream, read as kube-apiserver writes
/// it: <c>{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{…}}</c>, one per line. KubernetesClient.Aot (the
/// build ip2service's NativeAOT needs) has no watch support, so both binaries read watches here, through the client's
/// own handler chain and credentials, with each binary's own source-generated JSON.
/// <para>What the informer relies on: events come in order; an ERROR event's Status goes to <c>onError</c> as a
/// <see cref="KubernetesException"/> and ends the enumeration (kube-apiserver closes the stream after it); a non-2xx
/// answer throws <see cref="HttpOperationException"/> with the Status body, as KubernetesClient's calls do; a dropped
/// connection throws the transport's <see cref="IOException"/>; a stream the server ends cleanly ends the
/// enumeration. Hostile or broken input never crashes the binary and never grows memory without bound: a line longer
/// than <see cref="MaxEventBytes"/>, an undecodable line, an event without an object and an unknown type all go to
/// <c>onError</c> as <see cref="InvalidDataException"/> and end the watch (the stream cannot be trusted past it).</para>
/// </summary>
internal static class WatchStream
{
    /// <summary>The longest event line accepted. kube-apiserver stores objects of at most ~1.5 MiB (etcd's request
    /// limit) and accepts request bodies of at most 3 MiB; 16 MiB leaves room for JSON's escaping of any of them.</summary>
    public const int MaxEventBytes = 16 * 1024 * 1024;

    private const int InitialBufferBytes = 16 * 1024;

    /// <summary>Starts a watch of <paramref name="path"/> (e.g. <c>api/v1/pods</c>) with these query parameters (null
    /// values left out) and yields its events, decoding objects and ERROR Statuses with <paramref name="decoder"/> (each
    /// binary's own source-generated metadata, so that neither carries KubernetesClient's JSON of every Kubernetes
    /// model).</summary>
    public static async IAsyncEnumerable<(WatchEventType Type, T Object)> ReadAsync<T>(
        KubernetesApi kubernetes,
        string path,
        IEnumerable<(string Name, string? Value)> query,
        WatchDecoder<T> decoder,
        Action<Exception>? onError,
        [EnumeratorCancellation] CancellationToken cancellationToken,
        int maxEventBytes = MaxEventBytes)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        using var response = await KubernetesHttp.SendAsync(kubernetes, HttpMethod.Get, Url(kubernetes.BaseUri, path, query), null, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
        try
        {
            // buffer[start..end] holds bytes read but not yet handled.
            var (start, end) = (0, 0);
            while (true)
            {
                var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                if (newline < 0)
                {
                    if (end - start > maxEventBytes)
                    {
                        onError?.Invoke(new InvalidDataException($"A watch event of {path} is longer than {maxEventBytes} bytes; the watch is abandoned."));
                        yield break;
                    }

                    buffer = MakeRoom(buffer, ref start, ref end, maxEventBytes);
                    var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken);
                    if (read == 0)
                    {
                        // A clean end: the server's timeout, or the end after an ERROR. Bytes without their newline
                        // are an event cut short, which no server sends on purpose.
                        if (buffer.AsSpan(start, end - start).Trim(" \r\n\t"u8).Length > 0)
                        {
                            throw new EndOfStreamException($"The watch stream of {path} ended in the middle of an event.");
                        }

                        yield break;
                    }

                    end += read;
                    continue;
                }

                var empty = buffer.AsSpan(start, newline).Trim(" \r\t"u8).IsEmpty;
                start += newline + 1;
                if (empty)
                {
                    continue;
                }

                var decoded = Decode(decoder, buffer, start - newline - 1, newline, path);
                switch (decoded)
                {
                    case { Error: { } error }:
                        onError?.Invoke(error);
                        yield break;
                    case { Object: { } item }:
                        yield return (decoded.Type, item);
                        break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal static Uri Url(Uri baseUri, string path, IEnumerable<(string Name, string? Value)> query) =>
        KubernetesHttp.Url(baseUri, path, [("watch", "true"), .. query]);

    // Moves what is left to the front, and doubles the buffer when a line needs more (up to MaxEventBytes plus one
    // read, so that a line over the limit is noticed without reading it all).
    private static byte[] MakeRoom(byte[] buffer, ref int start, ref int end, int maxEventBytes)
    {
        if (start > 0)
        {
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            (start, end) = (0, end - start);
        }

        if (end < buffer.Length)
        {
            return buffer;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxEventBytes + InitialBufferBytes));
        buffer.AsSpan(0, end).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }

    private static Decoded<T> Decode<T>(WatchDecoder<T> decoder, byte[] buffer, int offset, int length, string path)
    {
        var line = buffer.AsSpan(offset, length);
        string? type = null;
        var (objectStart, objectLength) = (-1, 0);
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Invalid<T>(path, "is not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueTextEquals("type"u8) ? "type" : reader.ValueTextEquals("object"u8) ? "object" : null;
                reader.Read();
                if (name == "type" && reader.TokenType == JsonTokenType.String)
                {
                    type = reader.GetString();
                }
                else if (name == "object" && reader.TokenType == JsonTokenType.StartObject)
                {
                    objectStart = (int)reader.TokenStartIndex;
                    reader.Skip();
                    objectLength = (int)reader.BytesConsumed - objectStart;
                }
                else
                {
                    reader.Skip();
                }
            }

            if (objectStart < 0)
            {
                return Invalid<T>(path, $"of type {Quote(type)} has no object");
            }

            var json = new MemoryStream(buffer, offset + objectStart, objectLength, writable: false);
            return type switch
            {
                "ADDED" => Item(WatchEventType.Added, json),
                "MODIFIED" => Item(WatchEventType.Modified, json),
                "DELETED" => Item(WatchEventType.Deleted, json),
                "BOOKMARK" => Item(WatchEventType.Bookmark, json),
                "ERROR" => new Decoded<T>(default, default, new KubernetesException(decoder.Status(json))),
                _ => Invalid<T>(path, $"has the unknown type {Quote(type)}"),
            };
        }
        catch (JsonException e)
        {
            return Invalid<T>(path, $"is not valid JSON ({e.Message})", e);
        }

        Decoded<T> Item(WatchEventType type, MemoryStream json) =>
            decoder.Item(json) is { } item ? new(type, item, null) : Invalid<T>(path, "has a null object");
    }

    private static Decoded<T> Invalid<T>(string path, string what, Exception? inner = null) =>
        new(default, default, new InvalidDataException($"A watch event of {path} {what}; the watch is abandoned.", inner));

    // A type name from the stream, shortened: it goes into a log line.
    private static string Quote(string? type) =>
        type is null ? "(none)" : type.Length > 32 ? string.Create(CultureInfo.InvariantCulture, $"\"{type[..32]}…\"") : $"\"{type}\"";

    private readonly record struct Decoded<T>(WatchEventType Type, T? Object, Exception? Error);
}
