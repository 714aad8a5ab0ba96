using System.Globalization;
using Ip2Service.Rules;

namespace Ip2Service.Iptables;

/// <summary>
/// Picks the iptables backend. With `auto`, ip2service writes where the node's rules already are, as Kubernetes'
/// iptables-wrapper does: rules in the other backend would be evaluated too, but a reader of `iptables-save` would
/// not see them, and a node should have one place to look.
/// </summary>
internal static class BackendSelector
{
    public static async Task<BackendSelection> SelectAsync(BackendChoice choice, ExternalCommand command, CancellationToken cancellationToken)
    {
        switch (choice)
        {
            case BackendChoice.Nft:
                return new BackendSelection(IptablesBackend.Nft, "--iptables-backend nft");
            case BackendChoice.Legacy:
                return new BackendSelection(IptablesBackend.Legacy, "--iptables-backend legacy");
            default:
                var nft = await TrySaveAsync(IptablesBackend.Nft, command, cancellationToken);
                var legacy = await TrySaveAsync(IptablesBackend.Legacy, command, cancellationToken);
                return Decide(nft, legacy);
        }
    }

    /// <summary>The auto-detection rule: the only backend that works; else the one already holding ip2service's
    /// chains; else the one with more rules; else nft, Debian's default.</summary>
    public static BackendSelection Decide(IptablesSnapshot? nft, IptablesSnapshot? legacy)
    {
        if (nft is null && legacy is null)
        {
            throw new IptablesCommandException("neither iptables-nft-save nor iptables-legacy-save works on this node");
        }
        if (legacy is null)
        {
            return new BackendSelection(IptablesBackend.Nft, "iptables-legacy is not usable");
        }
        if (nft is null)
        {
            return new BackendSelection(IptablesBackend.Legacy, "iptables-nft is not usable");
        }
        var nftOwns = HasOwnedChains(nft);
        var legacyOwns = HasOwnedChains(legacy);
        if (nftOwns != legacyOwns)
        {
            return new BackendSelection(nftOwns ? IptablesBackend.Nft : IptablesBackend.Legacy, "ip2service's chains are already there");
        }
        if (nft.Rules.Length != legacy.Rules.Length)
        {
            var winner = nft.Rules.Length > legacy.Rules.Length ? IptablesBackend.Nft : IptablesBackend.Legacy;
            return new BackendSelection(
                winner,
                string.Create(CultureInfo.InvariantCulture, $"it holds the node's rules ({nft.Rules.Length} nft, {legacy.Rules.Length} legacy)"));
        }
        return new BackendSelection(IptablesBackend.Nft, "no rules in either backend; nft is Debian's default");
    }

    private static bool HasOwnedChains(IptablesSnapshot snapshot) =>
        snapshot.Chains.Any(c => ChainNames.IsOwned(c[(c.IndexOf('/', StringComparison.Ordinal) + 1)..]));

    private static async Task<IptablesSnapshot?> TrySaveAsync(IptablesBackend backend, ExternalCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await new IptablesCli(backend, command).SaveAllTablesAsync(cancellationToken);
        }
        catch (IptablesCommandException)
        {
            return null;
        }
    }
}
