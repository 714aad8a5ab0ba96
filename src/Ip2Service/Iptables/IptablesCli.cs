using Ip2Service.Rules;

namespace Ip2Service.Iptables;

/// <summary><see cref="IIptables"/> through the {ip,ip6}tables-{nft,legacy}-{save,restore} programs.</summary>
internal sealed class IptablesCli(IptablesBackend backend, ExternalCommand command, IpFamily family = IpFamily.V4) : IIptables
{
    public IptablesBackend Backend { get; } = backend;

    public IpFamily Family { get; } = family;

    public static string SaveProgram(IptablesBackend backend, IpFamily family = IpFamily.V4) =>
        Program(backend, family) + "-save";

    public static string RestoreProgram(IptablesBackend backend, IpFamily family = IpFamily.V4) =>
        Program(backend, family) + "-restore";

    public async Task<IptablesSnapshot> SaveAsync(CancellationToken cancellationToken)
    {
        var filter = await command.RunAsync(SaveProgram(Backend, Family), ["-t", "filter"], null, cancellationToken);
        var nat = await command.RunAsync(SaveProgram(Backend, Family), ["-t", "nat"], null, cancellationToken);
        return IptablesSnapshot.Parse(filter + "\n" + nat);
    }

    /// <summary>Also counts all rules (every table), for <see cref="BackendSelector"/>.</summary>
    public async Task<IptablesSnapshot> SaveAllTablesAsync(CancellationToken cancellationToken) =>
        IptablesSnapshot.Parse(await command.RunAsync(SaveProgram(Backend, Family), [], null, cancellationToken));

    public Task RestoreAsync(string input, CancellationToken cancellationToken) =>
        // Legacy takes the xtables lock; --wait makes it queue behind kube-proxy instead of failing.
        command.RunAsync(
            RestoreProgram(Backend, Family),
            Backend == IptablesBackend.Legacy ? ["--noflush", "--wait=10"] : ["--noflush"],
            input,
            cancellationToken);

    private static string Program(IptablesBackend backend, IpFamily family) =>
        (family == IpFamily.V6 ? "ip6tables" : "iptables") + (backend == IptablesBackend.Nft ? "-nft" : "-legacy");
}
