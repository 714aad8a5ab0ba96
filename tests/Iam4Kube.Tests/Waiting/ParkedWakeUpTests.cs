using System.Net;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;
using Iam4Kube.Waiting;

namespace Iam4Kube.Tests.Waiting;

/// <summary>
/// Bench scenario 4 in miniature: many requests parked on IPs no pod owns yet, woken as their pods arrive through the
/// watch. Each must be answered by its own pod's identity, and only once that pod is there: a wake-up is a hint to
/// re-check, never an answer by itself.
/// </summary>
public sealed class ParkedWakeUpTests : IAsyncLifetime
{
    private const string RolesPath = "/latest/meta-data/iam/security-credentials/";
    private const int Parked = 200;

    private Iam4KubeTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Node("node-1"));
        _host.Api.Create(KubeObjects.ServiceAccount("wake", "blue", KubeObjects.RoleArn("blue-role")));
        _host.Api.Create(KubeObjects.ServiceAccount("wake", "green", KubeObjects.RoleArn("green-role")));
        // Long enough that no parked request times out on a loaded machine: a 404 would hide a lost wake-up.
        await _host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(60), MaxParkedRequests = 1000 });
        await _host.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ManyParkedRequestsAreEachAnsweredWithTheirOwnPodsRoleOnlyOnceThatPodArrives()
    {
        var ips = Enumerable.Range(0, Parked).Select(i => $"127.0.{60 + (i / 100)}.{(i % 100) + 1}").ToArray();
        var clients = ips.Select(ip => _host.ClientFrom(ip, TimeSpan.FromSeconds(90))).ToArray();
        try
        {
            var requests = clients.Select(c => c.GetAsync(RolesPath)).ToArray();
            var budget = _host.Service<ParkedRequestBudget>();
            await Eventually.TrueAsync(() => budget.Parked == Parked, TimeSpan.FromSeconds(30), "the requests never all parked");

            // Half the pods, alternating ServiceAccounts: those requests are answered, the others stay parked.
            var half = Parked / 2;
            for (var i = 0; i < half; i++)
            {
                _host.Api.Create(KubeObjects.Pod("wake", $"pod-{i}", ips[i], RoleOf(i).ServiceAccount));
            }

            await Task.WhenAll(requests[..half]).WaitAsync(TimeSpan.FromSeconds(60));
            for (var i = 0; i < half; i++)
            {
                await AssertAnsweredWithAsync(requests[i], RoleOf(i).Role, ips[i]);
            }

            Assert.All(requests[half..], r => Assert.False(r.IsCompleted, "a request was answered before its pod existed"));
            Assert.Equal(Parked - half, budget.Parked);

            for (var i = half; i < Parked; i++)
            {
                _host.Api.Create(KubeObjects.Pod("wake", $"pod-{i}", ips[i], RoleOf(i).ServiceAccount));
            }

            await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(60));
            for (var i = half; i < Parked; i++)
            {
                await AssertAnsweredWithAsync(requests[i], RoleOf(i).Role, ips[i]);
            }

            Assert.Equal(0, budget.Parked);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task APodArrivingOnAnotherIpLeavesTheParkedRequestWaiting()
    {
        using var parkedClient = _host.ClientFrom("127.0.70.1", TimeSpan.FromSeconds(90));
        var parked = parkedClient.GetAsync(RolesPath);
        var budget = _host.Service<ParkedRequestBudget>();
        await Eventually.TrueAsync(() => budget.Parked == 1, TimeSpan.FromSeconds(30), "the request never parked");

        // Neighbours whose addresses share a prefix with the parked one: 127.0.70.10 and .11 (.1 as text is a prefix).
        _host.Api.Create(KubeObjects.Pod("wake", "neighbour-10", "127.0.70.10", "green"));
        _host.Api.Create(KubeObjects.Pod("wake", "neighbour-11", "127.0.70.11", "green"));
        using var neighbour = _host.ClientFrom("127.0.70.11");
        // Answered: the watch has applied both neighbours (events are applied in order) and woken whoever waited.
        Assert.Equal("green-role", await neighbour.GetStringAsync(RolesPath));
        Assert.False(parked.IsCompleted, "a pod on another IP answered the parked request");
        Assert.Equal(1, budget.Parked);

        _host.Api.Create(KubeObjects.Pod("wake", "owner", "127.0.70.1", "blue"));
        await AssertAnsweredWithAsync(await parked.WaitAsync(TimeSpan.FromSeconds(60)), "blue-role", "127.0.70.1");
    }

    private static (string ServiceAccount, string Role) RoleOf(int i) => i % 2 == 0 ? ("blue", "blue-role") : ("green", "green-role");

    private static async Task AssertAnsweredWithAsync(Task<HttpResponseMessage> request, string role, string ip) =>
        await AssertAnsweredWithAsync(await request, role, ip);

    private static async Task AssertAnsweredWithAsync(HttpResponseMessage response, string role, string ip)
    {
        using (response)
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{ip}: {(int)response.StatusCode}");
            Assert.Equal(role, await response.Content.ReadAsStringAsync());
        }
    }
}
