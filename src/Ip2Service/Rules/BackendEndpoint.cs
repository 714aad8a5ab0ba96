using System.Globalization;
using System.Net;

namespace Ip2Service.Rules;

/// <summary>One ready iam4kube pod, as a DNAT target: IPv4 address and TCP port.</summary>
internal readonly record struct BackendEndpoint(IPAddress Address, int Port) : IComparable<BackendEndpoint>
{
    public int CompareTo(BackendEndpoint other)
    {
        var byAddress = Ipv4.Compare(Address, other.Address);
        return byAddress != 0 ? byAddress : Port.CompareTo(other.Port);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");

    /// <summary>Parses "A.B.C.D:PORT" strictly (dotted-quad IPv4, port 1–65535).</summary>
    public static bool TryParse(string text, out BackendEndpoint endpoint)
    {
        endpoint = default;
        var colon = text.LastIndexOf(':');
        if (colon <= 0
            || !Ipv4.TryParse(text[..colon], out var address)
            || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            return false;
        }
        endpoint = new BackendEndpoint(address, port);
        return true;
    }

    public static bool operator <(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) < 0;

    public static bool operator <=(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) <= 0;

    public static bool operator >(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) > 0;

    public static bool operator >=(BackendEndpoint left, BackendEndpoint right) => left.CompareTo(right) >= 0;
}
