using Iam4Kube.Testing.Builders;

namespace Iam4Kube.Tests.TestHost;

/// <summary>
/// For test classes whose every test starts iam4kube itself (with its own options) against a cluster that already
/// has a node: the fake API server, the fake STS and node-1 before each test, everything gone after it.
/// </summary>
public abstract class ClusterBeforeAppTests : IAsyncLifetime
{
    private Iam4KubeTestHost? _host;

    private protected Iam4KubeTestHost Host => _host ?? throw new InvalidOperationException("the host starts in InitializeAsync");

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Node("node-1"));
        Arrange(_host);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    /// <summary>What the class's tests all need in the cluster besides the node.</summary>
    private protected virtual void Arrange(Iam4KubeTestHost host)
    {
    }
}
