using System.Net;
using Iam4Kube.Testing.Kubernetes;

namespace Ip2Service.Tests.TestSupport;

/// <summary>A kubeconfig file pointing at an API server address of the test's choosing (the fake server's own
/// kubeconfig names 127.0.0.1, unreachable from a network namespace); deleted on dispose.</summary>
internal sealed class TemporaryKubeconfig : IDisposable
{
    public TemporaryKubeconfig(IPEndPoint server)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ip2service-test-{Guid.NewGuid():N}.kubeconfig");
        File.WriteAllText(Path, FakeKubernetesApiServer.Kubeconfig(new Uri($"http://{server}")));
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
