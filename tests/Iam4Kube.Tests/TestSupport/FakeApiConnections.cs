using System.Collections.Concurrent;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Watching;
using k8s;

namespace Iam4Kube.Tests.TestSupport;

/// <summary>
/// Connections to a fake API server made as iam4kube makes its own (<see cref="KubernetesApi.Create"/> from the
/// kubeconfig: the same TLS, credentials and handler), for the src types that take one; disposed together.
/// </summary>
internal sealed class FakeApiConnections(FakeKubernetesApiServer api) : IDisposable
{
    private readonly ConcurrentBag<KubernetesApi> _made = [];

    public KubernetesApi Connect()
    {
        var connection = KubernetesApi.Create(KubernetesClientConfiguration.BuildConfigFromConfigFile(api.KubeconfigPath));
        _made.Add(connection);
        return connection;
    }

    public void Dispose()
    {
        foreach (var connection in _made)
        {
            connection.Dispose();
        }
    }
}
