using Ip2Service.Rules;

namespace Ip2Service.Iptables;

/// <summary>Reads and atomically writes the node's rules of one address family through one backend.</summary>
internal interface IIptables
{
    IptablesBackend Backend { get; }

    IpFamily Family { get; }

    /// <summary>The current filter and nat tables.</summary>
    Task<IptablesSnapshot> SaveAsync(CancellationToken cancellationToken);

    /// <summary>Applies iptables-restore input with --noflush: only the chains and rules it names change.</summary>
    Task RestoreAsync(string input, CancellationToken cancellationToken);
}
