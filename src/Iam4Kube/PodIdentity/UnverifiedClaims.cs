using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;

namespace Iam4Kube.PodIdentity;

/// <summary>
/// The claims a ServiceAccount token states about itself, read without checking its signature: only to refuse for
/// free what the API server would refuse anyway (not a JWT, expired, another audience, not bound to a pod) and to
/// know its expiry for the cache. Nothing here is trusted for identity: that comes from TokenReview.
/// </summary>
internal readonly record struct UnverifiedClaims(DateTimeOffset Expires, bool HasAudience, bool BoundToPod)
{
    public static bool TryRead(string token, string audience, out UnverifiedClaims claims)
    {
        claims = default;
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || second == token.Length - 1 || token.IndexOf('.', second + 1) >= 0)
        {
            return false;
        }

        var encoded = token.AsSpan(first + 1, second - first - 1);
        var buffer = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(encoded.Length));
        try
        {
            if (Base64Url.DecodeFromChars(encoded, buffer, out _, out var written) != OperationStatus.Done)
            {
                return false;
            }

            var reader = new Utf8JsonReader(buffer.AsSpan(0, written));
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var seconds)
                || seconds is < 0 or > 253402300799)
            {
                return false;
            }

            var hasAudience = root.TryGetProperty("aud", out var aud) && aud.ValueKind switch
            {
                JsonValueKind.String => aud.ValueEquals(audience),
                JsonValueKind.Array => aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.ValueEquals(audience)),
                _ => false,
            };
            var bound = root.TryGetProperty("kubernetes.io", out var k8s) && k8s.ValueKind == JsonValueKind.Object
                && k8s.TryGetProperty("pod", out var pod) && pod.ValueKind == JsonValueKind.Object;
            claims = new UnverifiedClaims(DateTimeOffset.FromUnixTimeSeconds(seconds), hasAudience, bound);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
