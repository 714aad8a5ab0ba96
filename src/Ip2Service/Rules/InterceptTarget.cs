using System.Globalization;
using System.Net;

namespace Ip2Service.Rules;

/// <summary>
/// An address that pods call and ip2service redirects: 169.254.169.254:80 unless told otherwise. A target with
/// <see cref="HookOutput"/> is also caught in OUTPUT, so that hostNetwork pods and the node's own processes reach it
/// (the pod-identity target); the IMDS target is not, so the node keeps its real metadata service.
/// </summary>
internal sealed record InterceptTarget(IPAddress Address, int Port)
{
    public static InterceptTarget Default { get; } = new(IPAddress.Parse("169.254.169.254"), 80);

    /// <summary>EC2's metadata service on the Nitro IPv6 address.</summary>
    public static InterceptTarget DefaultIpv6 { get; } = new(IPAddress.Parse("fd00:ec2::254"), 80);

    /// <summary>EKS Pod Identity's agent address (the container credentials endpoint).</summary>
    public static InterceptTarget PodIdentity { get; } = new(IPAddress.Parse("169.254.170.23"), 80) { HookOutput = true };

    public static InterceptTarget PodIdentityIpv6 { get; } = new(IPAddress.Parse("fd00:ec2::23"), 80) { HookOutput = true };

    public bool HookOutput { get; init; }

    public IpFamily Family => IpFamilies.Of(Address);

    /// <summary>"A.B.C.D:PORT" or "[V6]:PORT"; also what the chain name is derived from.</summary>
    public override string ToString() => Family == IpFamily.V6
        ? string.Create(CultureInfo.InvariantCulture, $"[{Address}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");
}
