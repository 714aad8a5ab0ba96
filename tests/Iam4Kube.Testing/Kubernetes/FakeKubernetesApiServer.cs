using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// An in-process kube-apiserver on real Kestrel (127.0.0.1, a free port) that the real KubernetesClient talks to over
/// HTTP/1.1 as it would to a cluster: LIST with limit/continue, WATCH as a chunked stream of JSON lines from a
/// resourceVersion (ERROR 410 Expired once that is compacted away), BOOKMARKs, label selectors, GET of one object,
/// POST and JSON merge PATCH (Events; a MicroTime such as <c>eventTime</c> refused unless it has exactly six fractional
/// digits, as kube-apiserver parses it), TokenReview of the ServiceAccount tokens it issues, and 404/409/410
/// <c>Status</c> bodies: what the product uses, nothing more.
/// Serves core/v1 pods, serviceaccounts, nodes, events, namespaces and discovery.k8s.io/v1 endpointslices. Tests
/// drive it directly (<see cref="Create{T}"/>,
/// <see cref="Update{T}"/>, ...) and inject faults (<see cref="DropWatches"/>, <see cref="FailNext"/>, ...).
/// </summary>
public sealed class FakeKubernetesApiServer : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWaitTimeout = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly ClusterState _cluster;
    private readonly ServiceAccountTokens _tokens;
    private readonly ApiFaults _faults = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentBag<IKubernetes> _clients = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly string _directory;
    private WebApplication? _app;
    private ITimer? _bookmarkTimer;
    private TimeSpan _bookmarkInterval = TimeSpan.FromMinutes(1);
    private Uri? _baseAddress;

    /// <param name="timeProvider">Clock for creationTimestamps, bookmarks, watch timeouts and latency (default: system).</param>
    /// <param name="historyCapacity">
    /// Changes kept per resource type to serve watches from a past resourceVersion (like the watch cache); older ones
    /// are forgotten and watching from before them gets 410 Expired.
    /// </param>
    public FakeKubernetesApiServer(TimeProvider? timeProvider = null, int historyCapacity = 50_000)
    {
        _time = timeProvider ?? TimeProvider.System;
        _cluster = new ClusterState(_time, historyCapacity, initialResourceVersion: 1000);
        _tokens = new ServiceAccountTokens(_cluster, _time);
        _directory = Path.Combine(Path.GetTempPath(), "iam4kube-fake-apiserver-" + Guid.NewGuid().ToString("N"));
    }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:43210/</c>.</summary>
    public Uri BaseAddress => _baseAddress ?? throw new InvalidOperationException("Call StartAsync first.");

    /// <summary>A kubeconfig file (context <c>fake</c>, bearer token) pointing at this server.</summary>
    public string KubeconfigPath => Path.Combine(_directory, "kubeconfig");

    /// <summary>The current global resourceVersion.</summary>
    public string ResourceVersion => ResourceVersions.Format(_cluster.ResourceVersion);

    /// <summary>How often watches with <c>allowWatchBookmarks=true</c> get a BOOKMARK (default one minute).</summary>
    public TimeSpan BookmarkInterval
    {
        get => _bookmarkInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _bookmarkInterval = value;
            _bookmarkTimer?.Change(value, value);
        }
    }

    /// <summary>Added before every LIST response.</summary>
    public TimeSpan Latency
    {
        get => _faults.Latency;
        set => _faults.Latency = value;
    }

    /// <summary>
    /// While true, every request is answered 503 ServiceUnavailable; setting it drops every open watch connection.
    /// </summary>
    public bool Unavailable
    {
        get => _faults.Unavailable;
        set
        {
            _faults.Unavailable = value;
            if (value)
            {
                _cluster.DropWatches(midFrame: false);
            }
        }
    }

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>The core/v1 Events that exist now (created by the code under test, say), in creation order.</summary>
    public IReadOnlyList<Corev1Event> Events =>
        [.. _cluster.Snapshot(ResourceKinds.Events, ObjectFilter.Everything)
            .OrderBy(e => e.CreatedRevision)
            .Select(e => e.ToModel<Corev1Event>())];

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("The server is already started.");
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        var handler = new ApiRequestHandler(_cluster, _faults, _requests, _tokens, _time, _shutdown.Token);
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken);
        _app = app;

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.Single();
        _baseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(KubeconfigPath, Kubeconfig(_baseAddress), cancellationToken);
        _bookmarkTimer = _time.CreateTimer(_ => _cluster.SendBookmarks(), null, _bookmarkInterval, _bookmarkInterval);
    }

    /// <summary>A real KubernetesClient configured from <see cref="KubeconfigPath"/>; disposed with the server.</summary>
    public IKubernetes CreateClient()
    {
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeconfigPath));
        _clients.Add(client);
        return client;
    }

    /// <summary>Creates an object as a POST would: uid, creationTimestamp and a new resourceVersion; an ADDED event.</summary>
    /// <returns>The stored object.</returns>
    public T Create<T>(T value)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(value);
        return Control(() => _cluster.Create(Kind<T>(), JsonCopy.Clone(value))).ToModel<T>();
    }

    /// <summary>
    /// Replaces an object unconditionally (any resourceVersion in it is ignored): a new resourceVersion and a MODIFIED
    /// event. Anything may change, <c>metadata.deletionTimestamp</c> included (a pod being deleted).
    /// </summary>
    /// <returns>The stored object.</returns>
    public T Update<T>(T value)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(value);
        return Control(() => _cluster.Update(Kind<T>(), JsonCopy.Clone(value))).ToModel<T>();
    }

    /// <summary>Deletes an object now (no grace period) with a DELETED event.</summary>
    /// <returns>The object's last state, at the deletion's resourceVersion.</returns>
    public T Delete<T>(string? @namespace, string name)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        Control(() => _cluster.Delete(Kind<T>(), @namespace, name, silently: false)).ToModel<T>();

    /// <summary>
    /// Removes an object with no watch event at all: a DELETE that watchers missed, which only a relist reveals.
    /// The resourceVersion still advances.
    /// </summary>
    public void DeleteSilently<T>(string? @namespace, string name)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        Control(() => _cluster.Delete(Kind<T>(), @namespace, name, silently: true));

    public T? Get<T>(string? @namespace, string name)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        _cluster.Get(Kind<T>(), @namespace, name)?.ToModel<T>();

    /// <summary>The objects of a type in a namespace (null: all), in key order.</summary>
    public IReadOnlyList<T> List<T>(string? @namespace = null)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        [.. _cluster.Snapshot(Kind<T>(), new ObjectFilter(@namespace, null, null)).Select(s => s.ToModel<T>())];

    /// <summary>
    /// A bound ServiceAccount token for the pod <paramref name="namespace"/>/<paramref name="podName"/>, as TokenRequest
    /// writes into a projected volume: signed by this server, for <paramref name="audiences"/>, naming the pod, its
    /// uid, its ServiceAccount and node. Valid for <paramref name="lifetime"/> (default 24 h, the webhook's).
    /// </summary>
    public string IssueServiceAccountToken(string @namespace, string podName, IReadOnlyList<string> audiences, TimeSpan? lifetime = null) =>
        IssueServiceAccountToken(@namespace, podName, audiences, _time.GetUtcNow() + (lifetime ?? TimeSpan.FromDays(1)));

    /// <summary>A bound token that expires at <paramref name="expires"/> (in the past for an expired one).</summary>
    public string IssueServiceAccountToken(string @namespace, string podName, IReadOnlyList<string> audiences, DateTimeOffset expires) =>
        _tokens.Issue(
            Get<V1Pod>(@namespace, podName) ?? throw new InvalidOperationException($"pods \"{podName}\" not found: TokenRequest needs it"),
            audiences,
            expires);

    /// <summary>How many TokenReviews were answered (authenticated or not).</summary>
    public int TokenReviewCount => _tokens.Reviews;

    /// <summary>Forgets all history: watches and continued lists from any earlier resourceVersion get 410 Expired.</summary>
    public void CompactHistory() => _cluster.CompactHistory();

    /// <summary>
    /// Aborts every open watch connection (the TCP connection is reset, as in a network failure) after writing the
    /// events already queued to it; with <paramref name="midFrame"/>, half a JSON line goes out first. As with a real
    /// reset, bytes the client had not read yet may be lost: wait for the events a test relies on before dropping.
    /// No new event reaches a dropped watch. Returns how many connections were dropped.
    /// </summary>
    public int DropWatches(bool midFrame = false) => _cluster.DropWatches(midFrame);

    /// <summary>
    /// Every open watch connection goes silent, as behind a half-open TCP connection (a NAT or load balancer that
    /// forgot it): it stays open, but nothing more reaches the client, not a BOOKMARK, not even the end at
    /// timeoutSeconds. New watches are not affected. Returns how many went silent.
    /// </summary>
    public int SilenceWatches() => _cluster.SilenceWatches();

    /// <summary>
    /// While true, every watch (open or new) is accepted and then sent nothing at all (a stalled watch cache); lists
    /// still work. Setting it silences the open watches.
    /// </summary>
    public bool StallWatches
    {
        get => _faults.StallWatches;
        set
        {
            _faults.StallWatches = value;
            if (value)
            {
                _cluster.SilenceWatches();
            }
        }
    }

    /// <summary>While set, every watch request is answered with this fault (in-band for 410 and 504, as kube-apiserver does).</summary>
    public ApiFault? WatchFault
    {
        get => _faults.WatchFault;
        set => _faults.WatchFault = value;
    }

    /// <summary>While set, every list request is answered with this fault.</summary>
    public ApiFault? ListFault
    {
        get => _faults.ListFault;
        set => _faults.ListFault = value;
    }

    /// <summary>Sends a BOOKMARK at the current resourceVersion to every watch that allowed bookmarks, now.</summary>
    public void SendBookmark() => _cluster.SendBookmarks();

    /// <summary>
    /// The next <paramref name="count"/> requests whose path and query contain <paramref name="pathContains"/> (any
    /// request when null) are answered with <paramref name="status"/> and a matching <c>Status</c> body.
    /// </summary>
    public void FailNext(int count, HttpStatusCode status, string? pathContains = null) =>
        _faults.FailNext(count, status, pathContains);

    /// <summary>
    /// Runs <paramref name="change"/> (e.g. an <see cref="Update{T}"/>) once, when the next <paramref name="method"/>
    /// request whose path contains <paramref name="pathContains"/> arrives and before it is served: another writer
    /// winning the race between a client's read and its write, so that its resourceVersion is stale (a real 409).
    /// </summary>
    public void ChangeBeforeNext(string method, string pathContains, Action change) =>
        _faults.InterjectBefore(method, pathContains, change);

    /// <summary>
    /// Resolves once <paramref name="count"/> watch requests for <paramref name="plural"/> (e.g. "pods") have connected
    /// since the server started, counting those that have ended since.
    /// </summary>
    public async Task WaitForWatchAsync(string plural, int count = 1, TimeSpan? timeout = null)
    {
        var kind = KindOf(plural);
        var connected = _cluster.WaitForWatchesAsync(kind, count);
        var limit = timeout ?? DefaultWaitTimeout;
        try
        {
            await connected.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            _cluster.CancelWaiter(kind, connected);
            throw new TimeoutException(
                $"{count} watch request(s) for {plural} did not connect within {limit}; {_cluster.WatchesConnected(kind)} did.");
        }
    }

    /// <summary>How many watch connections for <paramref name="plural"/> are open now.</summary>
    public int ActiveWatchCount(string plural) => _cluster.ActiveWatchCount(KindOf(plural));

    /// <summary>
    /// Resolves with the first object of type <typeparamref name="T"/> that <paramref name="predicate"/> accepts:
    /// one that exists now, or the next one created or updated to match (e.g. an Event the code under test posts).
    /// </summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> predicate, TimeSpan? timeout = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var kind = Kind<T>();
        var found = _cluster.WaitForObjectAsync(kind, stored => predicate(stored.ToModel<T>()));
        var limit = timeout ?? DefaultWaitTimeout;
        try
        {
            return (await found.WaitAsync(limit)).ToModel<T>();
        }
        catch (TimeoutException)
        {
            _cluster.CancelWaiter(kind, found);
            throw new TimeoutException($"No {kind.Kind} matching the condition appeared within {limit}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_bookmarkTimer is not null)
        {
            await _bookmarkTimer.DisposeAsync();
        }

        _cluster.CompleteWatches();
        await _shutdown.CancelAsync();
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        if (_app is not null)
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(stopping.Token);
            await _app.DisposeAsync();
        }

        _shutdown.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static ResourceKind Kind<T>() => ResourceKinds.For(typeof(T));

    private static ResourceKind KindOf(string plural) =>
        ResourceKinds.FindByPlural(plural)
        ?? throw new ArgumentException($"The fake API server serves no resource \"{plural}\".", nameof(plural));

    private static StoredObject Control(Func<StoredObject> operation)
    {
        try
        {
            return operation();
        }
        catch (ApiStatusException e)
        {
            throw new InvalidOperationException($"{(int)e.Code} {e.Reason}: {e.Message}", e);
        }
    }

    /// <summary>A kubeconfig for this kind of server at <paramref name="server"/> (e.g. as seen from a network namespace).</summary>
    public static string Kubeconfig(Uri server) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
            server: {server.GetLeftPart(UriPartial.Authority)}
        users:
        - name: fake
          user:
            token: fake-token
        contexts:
        - name: fake
          context:
            cluster: fake
            user: fake
            namespace: default
        current-context: fake
        preferences: {"{}"}

        """;
}
