using System.Buffers.Text;
using System.Text.Json;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// A list continue token, shaped as kube-apiserver's: base64url of <c>{"v":"meta.k8s.io/v1","rv":N,"start":KEY}</c>,
/// where the next page starts at KEY and is served at resourceVersion N (-1: at the current one, inconsistently).
/// </summary>
internal readonly record struct ContinueToken(long ResourceVersion, string StartKey)
{
    private const string Version = "meta.k8s.io/v1";

    public string Encode()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new Wire { V = Version, Rv = ResourceVersion, Start = StartKey });
        return Base64Url.EncodeToString(json);
    }

    public static ContinueToken Decode(string token)
    {
        try
        {
            var wire = JsonSerializer.Deserialize<Wire>(Base64Url.DecodeFromChars(token));
            if (wire is null || wire.V != Version || wire.Start is null)
            {
                throw Invalid("the continue token is not from this server");
            }

            return new ContinueToken(wire.Rv, wire.Start);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw Invalid(e.Message);
        }
    }

    /// <summary>The key right after <paramref name="lastKey"/>, as etcd continues a range.</summary>
    public static ContinueToken After(long resourceVersion, string lastKey) => new(resourceVersion, lastKey + "\0");

    private static ApiStatusException Invalid(string why) => ApiStatusException.BadRequest($"continue key is not valid: {why}");

    private sealed class Wire
    {
        [System.Text.Json.Serialization.JsonPropertyName("v")]
        public string? V { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("rv")]
        public long Rv { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("start")]
        public string? Start { get; set; }
    }
}
