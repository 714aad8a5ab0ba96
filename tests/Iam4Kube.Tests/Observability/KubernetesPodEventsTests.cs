using Iam4Kube.Observability;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Tests.TestSupport;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.Observability;

/// <summary>Pod Events: written to the API server, at most one per pod, reason and ten minutes, repeats counted.</summary>
public sealed class KubernetesPodEventsTests : IAsyncLifetime
{
    private readonly FakeKubernetesApiServer _api = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
    private readonly Iam4KubeMetrics _metrics = new();
    private KubernetesPodEvents _events = null!;
    private FakeApiConnections _connections = null!;

    public async Task InitializeAsync()
    {
        await _api.StartAsync();
        _connections = new FakeApiConnections(_api);
        _events = new KubernetesPodEvents(_connections.Connect(), _metrics, _time, NullLogger<KubernetesPodEvents>.Instance);
        await _events.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _events.StopAsync(CancellationToken.None);
        _connections.Dispose();
        await _api.DisposeAsync();
    }

    private static PodInfo Pod(string name) => PodInfo.FromPod(KubeObjects.Pod("shop", name, "10.0.0.1", "api"))!;

    private async Task<Corev1Event> WaitForEventAsync(Func<Corev1Event, bool> predicate) =>
        await _api.WaitForAsync(predicate, TimeSpan.FromSeconds(10));

    [Fact]
    public async Task RecordsAWarningEventOnThePodWithReasonAndMessage()
    {
        var pod = Pod("api-1");
        _events.Record(pod, PodEventReason.IamRoleInvalid, "annotation iam.amazonaws.com/roleArn: not an ARN");

        var created = await WaitForEventAsync(e => e.InvolvedObject.Name == "api-1");
        Assert.Equal("Pod", created.InvolvedObject.Kind);
        Assert.Equal(pod.Uid, created.InvolvedObject.Uid);
        Assert.Equal("shop", created.Metadata.NamespaceProperty);
        Assert.Equal("IamRoleInvalid", created.Reason);
        Assert.Equal("Warning", created.Type);
        Assert.Equal(1, created.Count);
        Assert.Equal("iam4kube", created.Source.Component);
        Assert.Contains("not an ARN", created.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RepeatsWithinTenMinutesAreCountedNotWrittenAndTheNextWriteCarriesTheTotal()
    {
        var pod = Pod("api-2");
        for (var i = 0; i < 50; i++)
        {
            _events.Record(pod, PodEventReason.IamCredentialsServed, "Served credentials");
        }

        var first = await WaitForEventAsync(e => e.InvolvedObject.Name == "api-2");
        Assert.Equal("Normal", first.Type);

        // A different reason on the same pod is its own event.
        _events.Record(pod, PodEventReason.IamRoleFound, "has role");
        await WaitForEventAsync(e => e.InvolvedObject.Name == "api-2" && e.Reason == "IamRoleFound");
        Assert.Single(_api.Events, e => e.InvolvedObject.Name == "api-2" && e.Reason == "IamCredentialsServed");

        _time.Advance(TimeSpan.FromMinutes(10));
        _events.Record(pod, PodEventReason.IamCredentialsServed, "Served credentials again");
        var updated = await _api.WaitForAsync<Corev1Event>(e => e.InvolvedObject.Name == "api-2" && e.Reason == "IamCredentialsServed" && e.Count == 51, TimeSpan.FromSeconds(10));
        Assert.Equal(first.Metadata.Name, updated.Metadata.Name);
        Assert.Single(_api.Events, e => e.InvolvedObject.Name == "api-2" && e.Reason == "IamCredentialsServed");
        // Three writes in all (the API saw them; the counter follows right after each call returns).
        for (var i = 0; i < 100 && _metrics.EventsWritten.WithLabels("IamCredentialsServed").Value < 2; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(2, _metrics.EventsWritten.WithLabels("IamCredentialsServed").Value);
        Assert.Equal(1, _metrics.EventsWritten.WithLabels("IamRoleFound").Value);
    }

    [Fact]
    public async Task ApiErrorsAreCountedAndNeverThrownAtTheCaller()
    {
        _api.FailNext(1, System.Net.HttpStatusCode.InternalServerError, "/events");
        _events.Record(Pod("api-3"), PodEventReason.IamRoleMissing, "no role");
        for (var i = 0; i < 100 && _metrics.EventsDropped.Value == 0; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(1, _metrics.EventsDropped.Value);
    }
}
