using System.Net;

namespace Ip2Service.Tests.TestSupport;

/// <summary>A kubeconfig file pointing at an API server address of the test's choosing (the fake server's own
/// kubeconfig names 127.0.0.1, unreachable from a network namespace); deleted on dispose.</summary>
internal sealed class TemporaryKubeconfig : IDisposable
{
    public TemporaryKubeconfig(IPEndPoint server)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ip2service-test-{Guid.NewGuid():N}.kubeconfig");
        File.WriteAllText(Path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: http://{server}
            users:
            - name: fake
              user:
                token: fake-token
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
            current-context: fake

            """);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
