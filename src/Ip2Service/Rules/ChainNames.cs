using System.Security.Cryptography;
using System.Text;

namespace Ip2Service.Rules;

/// <summary>
/// Names of what ip2service owns in iptables. The chain name is derived from the intercepted IP:port only, so it is
/// the same across restarts and on every node, and two ip2service instances intercepting different targets do not
/// share a chain. iptables allows chain names of at most 28 characters.
/// </summary>
internal static class ChainNames
{
    /// <summary>Every chain ip2service creates starts with this; `clean` removes all of them.</summary>
    public const string Prefix = "IP2SERVICE-";

    /// <summary>Rule comments start with this, so that a human reading iptables-save sees who wrote them.</summary>
    public const string CommentPrefix = "ip2service: ";

    public static string For(InterceptTarget target)
    {
        var digest = SHA256.HashData(Encoding.ASCII.GetBytes("tcp:" + target));
        // Base32 keeps the name upper-case and free of characters iptables could misread.
        return Prefix + Base32(digest)[..16];
    }

    public static bool IsOwned(string chain) => chain.StartsWith(Prefix, StringComparison.Ordinal);

    private static string Base32(ReadOnlySpan<byte> bytes)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var builder = new StringBuilder();
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                builder.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        return builder.ToString();
    }
}
