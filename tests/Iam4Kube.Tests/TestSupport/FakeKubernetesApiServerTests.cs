using System.Net;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Watching;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Iam4Kube.Tests.TestSupport;

/// <summary>The fake kube-apiserver, exercised with the real KubernetesClient (and, for watches, the informer's
/// WatchStream) as the code under test uses them.</summary>
public sealed class FakeKubernetesApiServerTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly FakeKubernetesApiServer _server = new();
    private IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        await _server.StartAsync();
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ListPaginatesWithLimitAndContinueAtTheResourceVersionOfTheFirstPage()
    {
        for (var i = 0; i < 25; i++)
        {
            _server.Create(Pod("default", $"pod-{i:D2}"));
        }

        var first = await _client.CoreV1.ListNamespacedPodAsync("default", limit: 10);
        _server.Create(Pod("default", "pod-99-created-between-pages"));
        _server.Delete<V1Pod>("default", "pod-24");
        var second = await _client.CoreV1.ListNamespacedPodAsync("default", limit: 10, continueParameter: first.Metadata.ContinueProperty);
        var third = await _client.CoreV1.ListNamespacedPodAsync("default", limit: 10, continueParameter: second.Metadata.ContinueProperty);

        Assert.Equal(10, first.Items.Count);
        Assert.Equal(15, first.Metadata.RemainingItemCount);
        Assert.Equal(first.Metadata.ResourceVersion, second.Metadata.ResourceVersion);
        Assert.Equal(first.Metadata.ResourceVersion, third.Metadata.ResourceVersion);
        Assert.Null(third.Metadata.ContinueProperty);
        var names = first.Items.Concat(second.Items).Concat(third.Items).Select(p => p.Metadata.Name).ToList();
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"pod-{i:D2}"), names);
    }

    [Fact]
    public async Task ListItemsCarryNoKindButTheListDoes()
    {
        _server.Create(Pod("default", "a"));

        var list = await _client.CoreV1.ListPodForAllNamespacesAsync();

        Assert.Equal("PodList", list.Kind);
        Assert.Equal("v1", list.ApiVersion);
        Assert.Null(Assert.Single(list.Items).Kind);
        Assert.Equal("Pod", (await _client.CoreV1.ReadNamespacedPodAsync("a", "default")).Kind);
    }

    [Fact]
    public async Task ContinueTokenFromBeforeACompactionAnswers410Expired()
    {
        for (var i = 0; i < 5; i++)
        {
            _server.Create(Pod("default", $"pod-{i}"));
        }

        var first = await _client.CoreV1.ListPodForAllNamespacesAsync(limit: 2);
        _server.Create(Pod("default", "later"));
        _server.CompactHistory();

        var error = await Assert.ThrowsAsync<HttpOperationException>(
            () => _client.CoreV1.ListPodForAllNamespacesAsync(limit: 2, continueParameter: first.Metadata.ContinueProperty));

        Assert.Equal(HttpStatusCode.Gone, error.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        Assert.Equal("Expired", status.Reason);
        Assert.Equal(410, status.Code);
        Assert.StartsWith("The provided continue parameter is too old", status.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(status.Metadata.ContinueProperty));
    }

    [Fact]
    public async Task ListAtAResourceVersionNotYetReachedWaitsForIt()
    {
        var next = (long.Parse(_server.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) + 1)
            .ToString(System.Globalization.CultureInfo.InvariantCulture);

        var listing = _client.CoreV1.ListPodForAllNamespacesAsync(resourceVersion: next);
        _server.Create(Pod("default", "a"));
        var list = await listing;

        Assert.Equal(next, list.Metadata.ResourceVersion);
        Assert.Equal("a", Assert.Single(list.Items).Metadata.Name);
    }

    [Fact]
    public async Task GetOfAMissingObjectAnswers404WithANotFoundStatus()
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReadNamespacedPodAsync("nope", "default"));

        Assert.Equal(HttpStatusCode.NotFound, error.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        Assert.Equal("NotFound", status.Reason);
        Assert.Equal("pods \"nope\" not found", status.Message);
    }

    [Fact]
    public async Task WatchFromResourceVersionReplaysLaterEventsInOrderThenLiveOnes()
    {
        _server.Create(Pod("default", "a"));
        var from = (await _client.CoreV1.ListPodForAllNamespacesAsync()).Metadata.ResourceVersion;
        _server.Create(Pod("default", "b"));
        var b = _server.Get<V1Pod>("default", "b")!;
        b.Status = new V1PodStatus { Phase = "Running", PodIP = "10.0.0.2" };
        _server.Update(b);
        _server.Delete<V1Pod>("default", "a");

        var events = new List<(WatchEventType Type, string Name, string Rv)>();
        using var cts = new CancellationTokenSource(Timeout);
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, pod) in _client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: from, cancellationToken: cts.Token))
            {
                events.Add((type, pod.Metadata.Name, pod.Metadata.ResourceVersion));
                if (events.Count == 4)
                {
                    break;
                }
            }
        });
        await _server.WaitForWatchAsync("pods", timeout: Timeout);
        _server.Create(Pod("other", "c"));
        await watching;

        Assert.Equal(
            [(WatchEventType.Added, "b"), (WatchEventType.Modified, "b"), (WatchEventType.Deleted, "a"), (WatchEventType.Added, "c")],
            events.Select(e => (e.Type, e.Name)));
        var versions = events.Select(e => long.Parse(e.Rv, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(versions.Order(), versions);
        Assert.True(versions[0] > long.Parse(from, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task WatchWithoutResourceVersionStartsWithTheCurrentObjectsAsAdded()
    {
        _server.Create(Pod("default", "a"));
        _server.Create(Pod("kube-system", "b"));

        using var cts = new CancellationTokenSource(Timeout);
        var first = await _client.CoreV1.WatchListNamespacedPodAsync("default", cancellationToken: cts.Token)
            .FirstAsync(cts.Token);

        Assert.Equal((WatchEventType.Added, "a"), (first.Item1, first.Item2.Metadata.Name));
    }

    [Fact]
    public async Task BookmarkCarriesTheCurrentResourceVersionOnly()
    {
        _server.Create(Pod("default", "a"));
        var from = _server.ResourceVersion;
        _server.Create(Pod("default", "b"));

        using var cts = new CancellationTokenSource(Timeout);
        var watching = _client.CoreV1.WatchListPodForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: from, cancellationToken: cts.Token)
            .Take(2)
            .ToListAsync(cts.Token)
            .AsTask();
        await _server.WaitForWatchAsync("pods", timeout: Timeout);
        _server.SendBookmark();
        var events = await watching;

        Assert.Equal(WatchEventType.Added, events[0].Item1);
        Assert.Equal(WatchEventType.Bookmark, events[1].Item1);
        Assert.Equal(_server.ResourceVersion, events[1].Item2.Metadata.ResourceVersion);
        Assert.Null(events[1].Item2.Metadata.Name);
    }

    [Fact]
    public async Task BookmarksArePeriodicWhenAllowed()
    {
        _server.BookmarkInterval = TimeSpan.FromMilliseconds(50);

        using var cts = new CancellationTokenSource(Timeout);
        var events = await _client.CoreV1.WatchListPodForAllNamespacesAsync(
                allowWatchBookmarks: true, resourceVersion: _server.ResourceVersion, cancellationToken: cts.Token)
            .Take(2)
            .ToListAsync(cts.Token);

        Assert.All(events, e => Assert.Equal(WatchEventType.Bookmark, e.Item1));
    }

    [Fact]
    public async Task WatchFromACompactedResourceVersionGetsAnExpiredErrorEventThatTheClientReportsToOnErrorAndEndsQuietly()
    {
        _server.Create(Pod("default", "a"));
        var from = _server.ResourceVersion;
        _server.Create(Pod("default", "b"));
        _server.CompactHistory();

        var errors = new List<Exception>();
        using var cts = new CancellationTokenSource(Timeout);
        var received = await _client.CoreV1.WatchListPodForAllNamespacesAsync(
                resourceVersion: from, onError: errors.Add, cancellationToken: cts.Token)
            .ToListAsync(cts.Token);

        // The watch does not yield an ERROR event nor throw: it hands a KubernetesException to onError and the
        // enumeration then simply ends when the server closes the stream.
        Assert.Empty(received);
        var expired = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, expired.Status.Code);
        Assert.Equal("Expired", expired.Status.Reason);
        Assert.Equal($"too old resource version: {from} ({_server.ResourceVersion})", expired.Status.Message);
        Assert.Equal(0, _server.ActiveWatchCount("pods"));
    }

    [Fact]
    public async Task TheExpiredErrorIsSentWithHttp200AsOneJsonLine()
    {
        _server.Create(Pod("default", "a"));
        _server.CompactHistory();
        using var http = new HttpClient { BaseAddress = _server.BaseAddress };

        using var response = await http.GetAsync("/api/v1/pods?watch=1&resourceVersion=1");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            $$$"""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 ({{{_server.ResourceVersion}}})","reason":"Expired","code":410}}""" + "\n",
            body);
    }

    [Fact]
    public async Task DroppedWatchEndsTheEnumerationWithAnIOException()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var received = new List<string>();
        var gotFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watching = Task.Run(async () =>
        {
            await foreach (var (_, pod) in _client.CoreV1.WatchListPodForAllNamespacesAsync(
                resourceVersion: _server.ResourceVersion, cancellationToken: cts.Token))
            {
                received.Add(pod.Metadata.Name);
                gotFirst.TrySetResult();
            }
        });
        await _server.WaitForWatchAsync("pods", timeout: Timeout);
        _server.Create(Pod("default", "a"));
        await gotFirst.Task.WaitAsync(Timeout);

        Assert.Equal(1, _server.DropWatches());

        // The connection is reset: the read throws (a plain IOException whose inner is the SocketException) out
        // of the await foreach; transport errors do not go to onError.
        var error = await Assert.ThrowsAnyAsync<IOException>(() => watching);
        Assert.IsType<System.Net.Sockets.SocketException>(error.InnerException);
        Assert.Equal(["a"], received);
        Assert.Equal(0, _server.ActiveWatchCount("pods"));
    }

    [Fact]
    public async Task WatchDroppedBeforeItsFirstLineEndsTheEnumerationWithAnIOException()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var watching = Task.Run(async () =>
            await _client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: _server.ResourceVersion, cancellationToken: cts.Token)
                .ToListAsync(cts.Token));
        await _server.WaitForWatchAsync("pods", timeout: Timeout);

        _server.DropWatches(midFrame: true);

        // The response headers came when the watch started; the drop surfaces while reading its body, as any later
        // drop does (the informer counts both as unanswered).
        await Assert.ThrowsAnyAsync<IOException>(() => watching);
    }

    [Fact]
    public async Task WatchDroppedMidFrameLosesThePartialLineAndThrows()
    {
        _server.Create(Pod("default", "a"));
        var errors = new List<Exception>();
        using var cts = new CancellationTokenSource(Timeout);
        var received = new List<string>();
        var gotFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watching = Task.Run(async () =>
        {
            await foreach (var (_, pod) in _client.CoreV1.WatchListPodForAllNamespacesAsync(
                onError: errors.Add, cancellationToken: cts.Token))
            {
                received.Add(pod.Metadata.Name);
                gotFirst.TrySetResult();
            }
        });
        await gotFirst.Task.WaitAsync(Timeout);

        _server.DropWatches(midFrame: true);

        await Assert.ThrowsAnyAsync<IOException>(() => watching);
        Assert.Equal(["a"], received);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task WatchEndsCleanlyAfterTimeoutSeconds()
    {
        _server.Create(Pod("default", "a"));

        using var cts = new CancellationTokenSource(Timeout);
        var events = await _client.CoreV1.WatchListPodForAllNamespacesAsync(timeoutSeconds: 1, cancellationToken: cts.Token)
            .ToListAsync(cts.Token);

        Assert.Equal("a", Assert.Single(events).Item2.Metadata.Name);
    }

    [Fact]
    public async Task WatchThatTimesOutBeforeItsFirstEventEndsCleanlyWithNoEvent()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var errors = new List<Exception>();

        var events = await _client.CoreV1.WatchListPodForAllNamespacesAsync(
                resourceVersion: _server.ResourceVersion, timeoutSeconds: 1, onError: errors.Add, cancellationToken: cts.Token)
            .ToListAsync(cts.Token);

        Assert.Empty(events);
        Assert.Empty(errors);
        Assert.Equal(0, _server.ActiveWatchCount("pods"));
    }

    [Fact]
    public async Task EndpointSlicesAreSelectedByServiceNameLabel()
    {
        _server.Create(Slice("iam4kube-abc", "iam4kube", "10.0.0.1"));
        _server.Create(Slice("iam4kube-def", "iam4kube", "10.0.0.2"));
        _server.Create(Slice("other-xyz", "other", "10.0.0.3"));

        var mine = await _client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
            "iam4kube", labelSelector: "kubernetes.io/service-name=iam4kube");
        var notMine = await _client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
            "iam4kube", labelSelector: "kubernetes.io/service-name!=iam4kube,endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io");

        Assert.Equal(["iam4kube-abc", "iam4kube-def"], mine.Items.Select(s => s.Metadata.Name));
        Assert.Equal(["other-xyz"], notMine.Items.Select(s => s.Metadata.Name));
    }

    [Fact]
    public async Task LabelSelectedWatchSeesObjectsEnterAndLeaveTheSelection()
    {
        var slice = _server.Create(Slice("s1", "other", "10.0.0.1"));

        using var cts = new CancellationTokenSource(Timeout);
        var watching = _client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
                "iam4kube", labelSelector: "kubernetes.io/service-name=iam4kube", resourceVersion: _server.ResourceVersion,
                cancellationToken: cts.Token)
            .Take(3)
            .ToListAsync(cts.Token)
            .AsTask();
        await _server.WaitForWatchAsync("endpointslices", timeout: Timeout);
        slice.Metadata.Labels["kubernetes.io/service-name"] = "iam4kube";
        slice = _server.Update(slice);
        slice.Endpoints[0].Addresses = ["10.0.0.9"];
        slice = _server.Update(slice);
        slice.Metadata.Labels["kubernetes.io/service-name"] = "other";
        _server.Update(slice);
        var events = await watching;

        Assert.Equal([WatchEventType.Added, WatchEventType.Modified, WatchEventType.Deleted], events.Select(e => e.Item1));
        Assert.Equal("iam4kube", events[2].Item2.Metadata.Labels["kubernetes.io/service-name"]);
    }

    [Fact]
    public async Task FailNextAnswersThatStatusThenRecovers()
    {
        _server.FailNext(1, HttpStatusCode.InternalServerError, "/pods");

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ListPodForAllNamespacesAsync());
        var list = await _client.CoreV1.ListPodForAllNamespacesAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, error.Response.StatusCode);
        Assert.Equal("InternalError", KubernetesJson.Deserialize<V1Status>(error.Response.Content).Reason);
        Assert.Empty(list.Items);
    }

    [Fact]
    public async Task FailNextAppliesToWatchRequestsToo()
    {
        _server.FailNext(1, HttpStatusCode.Forbidden, "watch=true");

        using var cts = new CancellationTokenSource(Timeout);
        var error = await Assert.ThrowsAsync<HttpOperationException>(async () =>
            await _client.CoreV1.WatchListPodForAllNamespacesAsync(cancellationToken: cts.Token).ToListAsync(cts.Token));

        Assert.Equal(HttpStatusCode.Forbidden, error.Response.StatusCode);
    }

    [Fact]
    public async Task UnavailableAnswers503UntilItIsLifted()
    {
        _server.Unavailable = true;
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ListNodeAsync());
        _server.Unavailable = false;
        var nodes = await _client.CoreV1.ListNodeAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.Response.StatusCode);
        Assert.Empty(nodes.Items);
    }

    [Fact]
    public async Task DeleteSilentlySendsNoWatchEventButARelistShowsIt()
    {
        _server.Create(Pod("default", "a"));
        _server.Create(Pod("default", "b"));
        var from = _server.ResourceVersion;

        using var cts = new CancellationTokenSource(Timeout);
        var watching = _client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: from, cancellationToken: cts.Token)
            .FirstAsync(cts.Token)
            .AsTask();
        await _server.WaitForWatchAsync("pods", timeout: Timeout);
        _server.DeleteSilently<V1Pod>("default", "a");
        _server.Create(Pod("default", "c"));
        var first = await watching;
        var relist = await _client.CoreV1.ListPodForAllNamespacesAsync();

        Assert.Equal((WatchEventType.Added, "c"), (first.Item1, first.Item2.Metadata.Name));
        Assert.Equal(["b", "c"], relist.Items.Select(p => p.Metadata.Name));
    }

    [Fact]
    public async Task UpdatingDeletionTimestampIsAModifiedEvent()
    {
        var pod = _server.Create(Pod("default", "a"));
        var from = _server.ResourceVersion;
        pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
        _server.Update(pod);

        using var cts = new CancellationTokenSource(Timeout);
        var (type, seen) = await _client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: from, cancellationToken: cts.Token)
            .FirstAsync(cts.Token);

        Assert.Equal(WatchEventType.Modified, type);
        Assert.NotNull(seen.Metadata.DeletionTimestamp);
        Assert.Equal(pod.Metadata.Uid, seen.Metadata.Uid);
    }

    [Fact]
    public async Task CreateAssignsUidCreationTimestampAndResourceVersion()
    {
        var created = await _client.CoreV1.CreateNamespacedServiceAccountAsync(
            new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "app" } }, "default");

        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        Assert.NotNull(created.Metadata.CreationTimestamp);
        Assert.Equal(_server.ResourceVersion, created.Metadata.ResourceVersion);
        Assert.Equal("default", created.Metadata.NamespaceProperty);
        var again = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedServiceAccountAsync(
            new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "app" } }, "default"));
        Assert.Equal(HttpStatusCode.Conflict, again.Response.StatusCode);
    }

    [Fact]
    public async Task EventsArePostedAndTheirCountPatched()
    {
        var posted = await _client.CoreV1.CreateNamespacedEventAsync(
            new Corev1Event
            {
                Metadata = new V1ObjectMeta { GenerateName = "app-pod." },
                InvolvedObject = new V1ObjectReference { Kind = "Pod", Name = "app-pod", NamespaceProperty = "default" },
                Reason = "CredentialsServed",
                Message = "served",
                Count = 1,
                Type = "Normal",
            },
            "default");
        var patch = new V1Patch("""{"count":3,"lastTimestamp":"2030-01-01T00:00:00Z"}""", V1Patch.PatchType.MergePatch);
        await _client.CoreV1.PatchNamespacedEventAsync(patch, posted.Metadata.Name, "default");

        var recorded = Assert.Single(_server.Events);
        Assert.StartsWith("app-pod.", recorded.Metadata.Name, StringComparison.Ordinal);
        Assert.Equal(3, recorded.Count);
        Assert.Equal("CredentialsServed", recorded.Reason);
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc), recorded.LastTimestamp);
    }

    [Theory]
    [InlineData("2030-01-01T00:00:00Z")]
    [InlineData("2030-01-01T00:00:00.1234567Z")]
    [InlineData("2030-01-01T00:00:00.123Z")]
    [InlineData("2030-01-01 00:00:00.123456Z")]
    public async Task AnEventTimeWithoutExactlySixFractionalDigitsIsRefusedAsKubeApiserverRefusesIt(string eventTime)
    {
        // Raw JSON: KubernetesClient writes a whole-second MicroTime without digits, but no client decides what
        // kube-apiserver accepts: Go's layout 2006-01-02T15:04:05.000000Z07:00.
        using var http = new HttpClient { BaseAddress = _server.BaseAddress };

        using var refused = await http.PostAsync("api/v1/namespaces/default/events", EventJson(eventTime));
        using var accepted = await http.PostAsync("api/v1/namespaces/default/events", EventJson("2030-01-01T00:00:00.000000Z"));
        var name = System.Text.Json.Nodes.JsonNode.Parse(await accepted.Content.ReadAsStringAsync())!["metadata"]!["name"]!.GetValue<string>();
        using var patch = new StringContent($$"""{"eventTime":"{{eventTime}}"}""", System.Text.Encoding.UTF8, "application/merge-patch+json");
        using var patched = await http.PatchAsync($"api/v1/namespaces/default/events/{name}", patch);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(await refused.Content.ReadAsStringAsync());
        Assert.Equal("BadRequest", status.Reason);
        Assert.Contains("2006-01-02T15:04:05.000000Z07:00", status.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, patched.StatusCode);
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc), Assert.Single(_server.Events).EventTime);
    }

    [Fact]
    public async Task AnEventTimeWithSixFractionalDigitsAndAnOffsetIsAccepted()
    {
        using var http = new HttpClient { BaseAddress = _server.BaseAddress };

        using var accepted = await http.PostAsync("api/v1/namespaces/default/events", EventJson("2030-01-01T02:00:00.250000+02:00"));

        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 0, 250, DateTimeKind.Utc), Assert.Single(_server.Events).EventTime);
    }

    private static StringContent EventJson(string eventTime) => new(
        $$"""{"apiVersion":"v1","kind":"Event","metadata":{"generateName":"app-pod."},"involvedObject":{"kind":"Pod","name":"app-pod","namespace":"default"},"reason":"R","message":"m","eventTime":"{{eventTime}}","reportingComponent":"iam4kube","reportingInstance":"i","action":"A"}""",
        System.Text.Encoding.UTF8,
        "application/json");

    [Fact]
    public async Task KubeconfigFileLoadsWithTheClientsOwnLoader()
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(_server.KubeconfigPath);
        using var client = new Kubernetes(config);

        await client.CoreV1.ListNamespacedServiceAccountAsync("default");

        Assert.Equal(_server.BaseAddress, new Uri(config.Host + "/"));
        Assert.Contains(_server.Requests, r => r is { Method: "GET", Path: "/api/v1/namespaces/default/serviceaccounts" });
    }

    [Fact]
    public async Task WaitForWatchTimesOutWhenNobodyWatches()
    {
        await Assert.ThrowsAsync<TimeoutException>(() => _server.WaitForWatchAsync("nodes", timeout: TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public async Task RequestsAreRecordedWithTheirQuery()
    {
        await _client.CoreV1.ListPodForAllNamespacesAsync(limit: 5, labelSelector: "app=x");

        var request = Assert.Single(_server.Requests);
        Assert.Equal("/api/v1/pods", request.Path);
        Assert.Equal("5", request.QueryValue("limit"));
        Assert.Equal("app=x", request.QueryValue("labelSelector"));
        Assert.False(request.IsWatch);
    }

    [Fact]
    public async Task ListsTenThousandPodsInPages()
    {
        for (var i = 0; i < 10_000; i++)
        {
            _server.Create(Pod($"ns-{i % 10}", $"pod-{i:D5}"));
        }

        var seen = 0;
        string? next = null;
        do
        {
            var page = await _client.CoreV1.ListPodForAllNamespacesAsync(limit: 500, continueParameter: next);
            seen += page.Items.Count;
            next = page.Metadata.ContinueProperty;
        }
        while (next is not null);

        Assert.Equal(10_000, seen);
    }

    private static V1Pod Pod(string @namespace, string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
        Spec = new V1PodSpec { ServiceAccountName = "default", Containers = [new V1Container { Name = "app", Image = "app" }] },
    };

    private static V1EndpointSlice Slice(string name, string service, string address) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = "iam4kube",
            Labels = new Dictionary<string, string>
            {
                ["kubernetes.io/service-name"] = service,
                ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io",
            },
        },
        AddressType = "IPv4",
        Endpoints = [new V1Endpoint { Addresses = [address], Conditions = new V1EndpointConditions { Ready = true } }],
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
    };
}
