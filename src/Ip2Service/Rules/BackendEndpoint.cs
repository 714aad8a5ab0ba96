using System.Globalization;
using System.Net;

namespace Ip2Service.Rules;

/// <summary>One ready iam4kube pod, as a DNAT target: IPv4 or IPv6 address and TCP port.</summary>
internal readonly record struct BackendEndpoint(IPAddress Address, int Port) : IComparable<BackendEndpoint>
{
    public int CompareTo(BackendEndpoint other)
    {
        var byAddress = Ipv4.Compare(Address, other.Address);
        return byAddress != 0 ? byAddress : Port.CompareTo(other.Port);
    }

    public IpFamily Family => IpFamilies.Of(Address);

    /// <summary>"A.B.C.D:PORT" or "[V6]:PORT", as DNAT --to-destination takes it.</summary>
    public override string ToString() => Family == IpFamily.V6
        ? string.Create(CultureInfo.InvariantCulture, $"[{Address}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");

    /// <summary>Parses "A.B.C.D:PORT" (dotted-quad IPv4) or "[V6]:PORT" strictly, port 1–65535.</summary>
    public static bool TryParse(string text, out BackendEndpoint endpoint)
    {
        endpoint = default;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !TryParseHost(text[..colon], out var address)
            || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            return false;
        }
        endpoint = new BackendEndpoint(address, port);
        return true;
    }

    private static bool TryParseHost(string host, out IPAddress address)
    {
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            address = IPAddress.None;
            return Ipv4.IsIpv6(host[1..^1]) && Ipv4.TryParseAny(host[1..^1], out address);
        }
        return Ipv4.TryParse(host, out address);
    }

    public static bool operator <(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) < 0;

    public static bool operator <=(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) <= 0;

    public static bool operator >(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) > 0;

    public static bool operator >=(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) >= 0;
}
