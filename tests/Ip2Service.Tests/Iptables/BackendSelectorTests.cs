using Ip2Service.Iptables;

namespace Ip2Service.Tests.Iptables;

public sealed class BackendSelectorTests
{
    private static readonly IptablesSnapshot Empty = IptablesSnapshot.Parse("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    private static readonly IptablesSnapshot ThreeRules = IptablesSnapshot.Parse(
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j A\n-A PREROUTING -j B\n-A PREROUTING -j C\nCOMMIT\n");
    private static readonly IptablesSnapshot OwnChain = IptablesSnapshot.Parse(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:IP2SERVICE-ZLMHDQFX5EKC3GNI - [0:0]\nCOMMIT\n");

    [Fact]
    public void PrefersTheBackendThatAlreadyHoldsIp2servicesChains()
    {
        Assert.Equal(IptablesBackend.Legacy, BackendSelector.Decide(nft: ThreeRules, legacy: OwnChain).Backend);
        Assert.Equal(IptablesBackend.Nft, BackendSelector.Decide(nft: OwnChain, legacy: ThreeRules).Backend);
    }

    [Fact]
    public void OtherwisePrefersTheBackendHoldingTheNodesRules()
    {
        Assert.Equal(IptablesBackend.Legacy, BackendSelector.Decide(nft: Empty, legacy: ThreeRules).Backend);
        Assert.Equal(IptablesBackend.Nft, BackendSelector.Decide(nft: ThreeRules, legacy: Empty).Backend);
    }

    [Fact]
    public void FallsBackToNftWhenBothAreEmpty()
    {
        Assert.Equal(IptablesBackend.Nft, BackendSelector.Decide(nft: Empty, legacy: Empty).Backend);
    }

    [Fact]
    public void UsesTheOnlyBackendThatWorks()
    {
        Assert.Equal(IptablesBackend.Legacy, BackendSelector.Decide(nft: null, legacy: Empty).Backend);
        Assert.Equal(IptablesBackend.Nft, BackendSelector.Decide(nft: Empty, legacy: null).Backend);
    }

    [Fact]
    public void FailsWhenNeitherBackendWorks()
    {
        Assert.Throws<IptablesCommandException>(() => BackendSelector.Decide(null, null));
    }
}
