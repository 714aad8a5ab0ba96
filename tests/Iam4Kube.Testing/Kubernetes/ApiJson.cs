using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>Byte-level JSON pieces of the API server's wire format, built once and reused.</summary>
internal static class ApiJson
{
    public static readonly byte[] Newline = "\n"u8.ToArray();

    /// <summary>A <c>Status</c> object in the field order kube-apiserver writes it.</summary>
    public static byte[] Status(ApiStatusException error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteStatus(writer, error);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One watch frame line: <c>{"type":"ADDED","object":{...}}\n</c>.</summary>
    public static byte[] WatchLine(string type, ReadOnlySpan<byte> objectJson)
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":");
        var line = new byte[prefix.Length + objectJson.Length + 2];
        prefix.CopyTo(line, 0);
        objectJson.CopyTo(line.AsSpan(prefix.Length));
        line[^2] = (byte)'}';
        line[^1] = (byte)'\n';
        return line;
    }

    public static byte[] ErrorLine(ApiStatusException error) => WatchLine("ERROR", Status(error));

    /// <summary>A BOOKMARK carries an object of the watched kind with only its resourceVersion.</summary>
    public static byte[] BookmarkLine(ResourceKind kind, long resourceVersion)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kind", kind.Kind);
            writer.WriteString("apiVersion", kind.ApiVersion);
            writer.WriteStartObject("metadata");
            writer.WriteString("resourceVersion", ResourceVersions.Format(resourceVersion));
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return WatchLine("BOOKMARK", buffer.WrittenSpan);
    }

    private static void WriteStatus(Utf8JsonWriter writer, ApiStatusException error)
    {
        writer.WriteStartObject();
        writer.WriteString("kind", "Status");
        writer.WriteString("apiVersion", "v1");
        writer.WriteStartObject("metadata");
        if (error.InconsistentContinue is not null)
        {
            writer.WriteString("continue", error.InconsistentContinue);
        }

        writer.WriteEndObject();
        writer.WriteString("status", "Failure");
        writer.WriteString("message", error.Message);
        if (error.Reason.Length > 0)
        {
            writer.WriteString("reason", error.Reason);
        }

        if (error.Name is not null || error.Kind is not null || error.CauseReason is not null || error.RetryAfterSeconds > 0)
        {
            writer.WriteStartObject("details");
            if (error.Name is not null)
            {
                writer.WriteString("name", error.Name);
            }

            if (error.Group is not null)
            {
                writer.WriteString("group", error.Group);
            }

            if (error.Kind is not null)
            {
                writer.WriteString("kind", error.Kind);
            }

            if (error.CauseReason is not null)
            {
                writer.WriteStartArray("causes");
                writer.WriteStartObject();
                writer.WriteString("reason", error.CauseReason);
                writer.WriteString("message", error.CauseMessage ?? string.Empty);
                if (error.CauseField is not null)
                {
                    writer.WriteString("field", error.CauseField);
                }

                writer.WriteEndObject();
                writer.WriteEndArray();
            }

            if (error.RetryAfterSeconds > 0)
            {
                writer.WriteNumber("retryAfterSeconds", error.RetryAfterSeconds);
            }

            writer.WriteEndObject();
        }

        writer.WriteNumber("code", (int)error.Code);
        writer.WriteEndObject();
    }
}
