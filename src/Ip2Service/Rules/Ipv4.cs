using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ip2Service.Rules;

/// <summary>Strict IPv4 parsing and ordering: <see cref="IPAddress.TryParse(string, out IPAddress)"/> also takes
/// "10.1" or "167772161", which an endpoint list must not.</summary>
internal static class Ipv4
{
    public static bool TryParse(string text, out IPAddress address)
    {
        address = IPAddress.None;
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            if (parts[i].Length is < 1 or > 3
                || !parts[i].All(char.IsAsciiDigit)
                || !byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }
        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>A strict IPv4 address, or an IPv6 address (which has a colon, so "10.1" cannot pass as one).</summary>
    public static bool TryParseAny(string text, out IPAddress address)
    {
        if (TryParse(text, out address))
        {
            return true;
        }
        if (IsIpv6(text) && IPAddress.TryParse(text, out var parsed) && parsed.ScopeId == 0)
        {
            address = parsed;
            return true;
        }
        return false;
    }

    public static bool IsIpv6(string text) =>
        text.Contains(':', StringComparison.Ordinal)
        && IPAddress.TryParse(text, out var parsed)
        && parsed.AddressFamily == AddressFamily.InterNetworkV6;

    public static int Compare(IPAddress left, IPAddress right)
    {
        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        left.TryWriteBytes(a, out var lengthA);
        right.TryWriteBytes(b, out var lengthB);
        return lengthA != lengthB ? lengthA.CompareTo(lengthB) : a[..lengthA].SequenceCompareTo(b[..lengthB]);
    }
}
