namespace Ip2Service.Iptables;

/// <summary>The `--iptables-backend` flag: a backend, or auto-detection (see <see cref="BackendSelector"/>).</summary>
internal enum BackendChoice
{
    Auto,
    Nft,
    Legacy,
}
