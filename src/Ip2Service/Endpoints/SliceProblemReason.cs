namespace Ip2Service.Endpoints;

/// <summary>Why an EndpointSlice entry was skipped; the metric label is the snake_case form.</summary>
internal enum SliceProblemReason
{
    /// <summary>An IPv6 address (ip2service programs IPv4 only).</summary>
    Ipv6,

    /// <summary>An address that is not a dotted-quad IPv4 address.</summary>
    MalformedAddress,

    /// <summary>The slice has no TCP port with the service port's name.</summary>
    MissingPort,

    /// <summary>The named port has no number or one outside 1–65535.</summary>
    InvalidPort,

    /// <summary>An addressType ip2service does not handle (FQDN).</summary>
    UnsupportedAddressType,
}
