using System.Globalization;
using System.Net;

namespace Ip2Service.Rules;

/// <summary>The address that pods call and ip2service redirects: 169.254.169.254:80 unless told otherwise.</summary>
internal sealed record InterceptTarget(IPAddress Address, int Port)
{
    public static InterceptTarget Default { get; } = new(IPAddress.Parse("169.254.169.254"), 80);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");
}
