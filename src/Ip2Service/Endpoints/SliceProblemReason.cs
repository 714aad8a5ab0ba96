namespace Ip2Service.Endpoints;

/// <summary>Why an EndpointSlice entry was skipped; the metric label is the snake_case form.</summary>
internal enum SliceProblemReason
{
    /// <summary>An address of the other family than the slice's addressType (an IPv6 address in an IPv4 slice).</summary>
    WrongFamily,

    /// <summary>An address that is not a dotted-quad IPv4 address (IPv4 slice) or an IPv6 address (IPv6 slice).</summary>
    MalformedAddress,

    /// <summary>The slice has no TCP port with the service port's name.</summary>
    MissingPort,

    /// <summary>The named port has no number or one outside 1–65535.</summary>
    InvalidPort,

    /// <summary>An addressType ip2service does not handle (FQDN).</summary>
    UnsupportedAddressType,
}
