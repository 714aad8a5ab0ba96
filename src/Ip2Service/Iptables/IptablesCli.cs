namespace Ip2Service.Iptables;

/// <summary><see cref="IIptables"/> through the iptables-{nft,legacy}-{save,restore} programs.</summary>
internal sealed class IptablesCli(IptablesBackend backend, ExternalCommand command) : IIptables
{
    public IptablesBackend Backend { get; } = backend;

    public static string SaveProgram(IptablesBackend backend) =>
        backend == IptablesBackend.Nft ? "iptables-nft-save" : "iptables-legacy-save";

    public static string RestoreProgram(IptablesBackend backend) =>
        backend == IptablesBackend.Nft ? "iptables-nft-restore" : "iptables-legacy-restore";

    public async Task<IptablesSnapshot> SaveAsync(CancellationToken cancellationToken)
    {
        var filter = await command.RunAsync(SaveProgram(Backend), ["-t", "filter"], null, cancellationToken);
        var nat = await command.RunAsync(SaveProgram(Backend), ["-t", "nat"], null, cancellationToken);
        return IptablesSnapshot.Parse(filter + "\n" + nat);
    }

    /// <summary>Also counts all rules (every table), for <see cref="BackendSelector"/>.</summary>
    public async Task<IptablesSnapshot> SaveAllTablesAsync(CancellationToken cancellationToken) =>
        IptablesSnapshot.Parse(await command.RunAsync(SaveProgram(Backend), [], null, cancellationToken));

    public Task RestoreAsync(string input, CancellationToken cancellationToken) =>
        // Legacy takes the xtables lock; --wait makes it queue behind kube-proxy instead of failing.
        command.RunAsync(
            RestoreProgram(Backend),
            Backend == IptablesBackend.Legacy ? ["--noflush", "--wait=10"] : ["--noflush"],
            input,
            cancellationToken);
}
