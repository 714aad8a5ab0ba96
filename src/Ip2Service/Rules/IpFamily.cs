using System.Net;
using System.Net.Sockets;

namespace Ip2Service.Rules;

/// <summary>The two address families ip2service programs: iptables for IPv4, ip6tables for IPv6. The kernel keeps
/// their rules apart, so each family is read, rendered, written and checked on its own.</summary>
internal enum IpFamily
{
    V4,
    V6,
}

internal static class IpFamilies
{
    public static IpFamily Of(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? IpFamily.V6 : IpFamily.V4;

    /// <summary>The host prefix iptables-save prints after a single address: /32 or /128.</summary>
    public static string HostPrefix(IpFamily family) => family == IpFamily.V6 ? "/128" : "/32";

    public static string Label(IpFamily family) => family == IpFamily.V6 ? "ipv6" : "ipv4";
}
