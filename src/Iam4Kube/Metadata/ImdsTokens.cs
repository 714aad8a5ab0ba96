using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Iam4Kube.Metadata;

/// <summary>
/// IMDSv2 session tokens. A token is self-contained and signed (HMAC-SHA256): it carries its expiry, the source IP
/// it was issued to and, when known at issue time, the uid of the pod that owned that IP. So tokens cost no memory,
/// survive any number of requests, and every replica sharing the key (<c>--token-key-file</c>) accepts them.
/// A token is accepted only from its IP, and never once that IP belongs to another pod.
/// </summary>
internal sealed class ImdsTokens(byte[] key, TimeProvider time)
{
    public const int MinTtlSeconds = 1;
    public const int MaxTtlSeconds = 21600;

    private const byte Version = 1;
    private const int MacLength = 16;
    private const int MaxUidBytes = 128;

    public string Issue(IPAddress ip, string? podUid, int ttlSeconds)
    {
        var ipBytes = ip.GetAddressBytes();
        var uidBytes = Encoding.UTF8.GetBytes(podUid ?? "");
        if (uidBytes.Length > MaxUidBytes)
        {
            uidBytes = [];
        }

        var payloadLength = 1 + 8 + 1 + ipBytes.Length + 1 + uidBytes.Length;
        var token = new byte[payloadLength + MacLength];
        var span = token.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(span[1..], time.GetUtcNow().ToUnixTimeSeconds() + ttlSeconds);
        span[9] = (byte)ipBytes.Length;
        ipBytes.CopyTo(span[10..]);
        span[10 + ipBytes.Length] = (byte)uidBytes.Length;
        uidBytes.CopyTo(span[(11 + ipBytes.Length)..]);
        HMACSHA256.HashData(key, span[..payloadLength])[..MacLength].CopyTo(span[payloadLength..]);
        return Base64Url.EncodeToString(token);
    }

    /// <summary>Checks signature, expiry and source IP. On success returns the bound pod uid ("" when none).</summary>
    public bool TryValidate(string? token, IPAddress ip, out string boundUid)
    {
        boundUid = "";
        // IsValid first: TryDecodeFromChars throws on characters outside the alphabet, and tokens are hostile input.
        if (string.IsNullOrEmpty(token) || token.Length > 512 || !Base64Url.IsValid(token))
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[512];
        if (!Base64Url.TryDecodeFromChars(token, buffer, out var length) || length < 1 + 8 + 1 + 4 + 1 + MacLength)
        {
            return false;
        }

        var bytes = buffer[..length];
        var payload = bytes[..^MacLength];
        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(key, payload, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected[..MacLength], bytes[^MacLength..]) || payload[0] != Version)
        {
            return false;
        }

        if (BinaryPrimitives.ReadInt64BigEndian(payload[1..]) < time.GetUtcNow().ToUnixTimeSeconds())
        {
            return false;
        }

        var ipLength = payload[9];
        if (payload.Length < 11 + ipLength || !payload.Slice(10, ipLength).SequenceEqual(ip.GetAddressBytes()))
        {
            return false;
        }

        var uidLength = payload[10 + ipLength];
        if (payload.Length != 11 + ipLength + uidLength)
        {
            return false;
        }

        boundUid = Encoding.UTF8.GetString(payload.Slice(11 + ipLength, uidLength));
        return true;
    }

    /// <summary>The signing key: derived from a shared file so all replicas agree, else random per process.</summary>
    public static byte[] LoadKey(string? keyFile)
    {
        if (keyFile is null)
        {
            return RandomNumberGenerator.GetBytes(32);
        }

        var material = File.ReadAllBytes(keyFile);
        if (material.Length < 16)
        {
            throw new InvalidOperationException($"token key file {keyFile} holds {material.Length} bytes; at least 16 are needed");
        }

        return SHA256.HashData(material);
    }
}
