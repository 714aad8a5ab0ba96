namespace Ip2Service.Iptables;

/// <summary>The two iptables implementations Debian ships. They keep separate rule sets in the kernel, so
/// ip2service must write where the node's other rules (kube-proxy's, the CNI plugin's) live.</summary>
internal enum IptablesBackend
{
    /// <summary>iptables-nft: the nf_tables kernel API (Debian's default `iptables`).</summary>
    Nft,

    /// <summary>iptables-legacy: the x_tables kernel API.</summary>
    Legacy,
}
