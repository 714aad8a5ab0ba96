using System.Net;
using BenchmarkDotNet.Attributes;
using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Observability;
using Iam4Kube.Outcomes;
using Iam4Kube.PodIdentity;
using Iam4Kube.Policy;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Waiting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iam4Kube.Benchmarks;

/// <summary>
/// Scenario 7's warm request outside Kestrel: a GET on the token door whose token's verdict is cached and whose
/// role's credentials are cached, through <see cref="TokenDoor"/> as the endpoint calls it (Host and Authorization
/// checks, the token's SHA-256, the verdict lookup, the pod by uid, policy, credentials, the outcome report) and the
/// answer written; and the verifier's part alone. The verdict was reached by a real TokenReview at the fake API server.
/// </summary>
[MemoryDiagnoser]
public class TokenDoorBenchmarks : IDisposable
{
    private const string Audience = "iam4kube.io/pod-identity";
    private FakeKubernetesApiServer _api = null!;
    private ServiceAccountTokenVerifier _verifier = null!;
    private KubernetesPodEvents _events = null!;
    private TokenDoor _door = null!;
    private DefaultHttpContext _context = null!;
    private string _token = "";

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _api = new FakeKubernetesApiServer();
        await _api.StartAsync();
        _api.Create(KubeObjects.ServiceAccount("ns", "sa", KubeObjects.RoleArn("bench")));
        var created = _api.Create(KubeObjects.Pod("ns", "pod", "127.0.0.2", "sa"));
        _token = _api.IssueServiceAccountToken("ns", "pod", [Audience]);

        var time = TimeProvider.System;
        var metrics = new Iam4KubeMetrics();
        var pods = new PodIndex();
        pods.Upsert(new PodInfo(new NamespacedName("ns", "pod"), created.Metadata.Uid, "sa", "node-1", [IPAddress.Parse("127.0.0.2")]));
        var freshness = new FreshnessPolicy(TimeSpan.FromHours(1));
        var store = new CredentialStore();
        var refresher = new CredentialRefresher(store, new LocalMode.OfflineCredentialIssuer(time, NullLogger<LocalMode.OfflineCredentialIssuer>.Instance), freshness,
            new StsRateLimiter(10, 20), metrics, time, NullLogger<CredentialRefresher>.Instance);
        var serviceAccounts = new ServiceAccountStore(refresher);
        serviceAccounts.Upsert(KubeObjects.ServiceAccount("ns", "sa", KubeObjects.RoleArn("bench")));
        serviceAccounts.TryGet(new NamespacedName("ns", "sa"), out var assignment);
        var now = time.GetUtcNow();
        store.Publish(((RoleAssignment.Assigned)assignment).Role,
            new CredentialState(new RoleCredentials("ASIAIAM4KUBEBENCH000", new string('s', 40), new string('t', 800), now.AddHours(1), now), null));
        var namespaces = new NamespaceStore(NullLogger<NamespaceStore>.Instance);
        var resolver = new CallerResolver(new RolePolicy(serviceAccounts, RoleGuard.Off(namespaces), namespaces),
            new CredentialSupply(store, refresher, freshness, time), new NodeStore(), new ParkedRequestBudget(10),
            new ViewFreshness(time, TimeSpan.Zero, NullLogger<ViewFreshness>.Instance), metrics, time, TimeSpan.FromSeconds(15));

        // As iam4kube runs in the bench (--log-level warn): Events go to the API server through their loop, the
        // audit log is off because information is.
        // iam4kube's connection type over the fake's own client (the fake disposes it).
        var client = Iam4Kube.Watching.KubernetesApi.Of((k8s.Kubernetes)_api.CreateClient());
        _events = new KubernetesPodEvents(client, metrics, time, NullLogger<KubernetesPodEvents>.Instance);
        await _events.StartAsync(CancellationToken.None);
        var reporter = new OutcomeReporter(metrics, _events, new AuditLog(enabled: true, time, NullLogger<AuditLog>.Instance), NullLogger<OutcomeReporter>.Instance);
        _verifier = new ServiceAccountTokenVerifier(client, Audience, 100, 100, 1000, time, metrics, NullLogger<ServiceAccountTokenVerifier>.Instance);
        _door = new TokenDoor(_verifier, pods, resolver, reporter, new TokenDoorHosts(TokenDoorHosts.Default), time);

        _context = new DefaultHttpContext();
        _context.Request.Method = "GET";
        _context.Request.Path = PodIdentityApi.CredentialsPath;
        _context.Request.Host = new HostString("169.254.170.23");
        _context.Request.Headers.Authorization = _token;
        _context.Connection.RemoteIpAddress = IPAddress.Parse("127.0.0.2");
        _context.Response.Body = Stream.Null;
        // The first request makes the one TokenReview; every measured one finds its verdict cached.
        await _door.ServeAsync(_context);
        if (_context.Response.StatusCode != StatusCodes.Status200OK || _api.TokenReviewCount != 1)
        {
            throw new InvalidOperationException($"the token door answered {_context.Response.StatusCode} after {_api.TokenReviewCount} TokenReviews");
        }
    }

    /// <summary>The verifier on a known token: hash, lookup, expiry check, the verdict.</summary>
    [Benchmark]
    public bool VerifyCachedToken()
    {
        var verdict = _verifier.VerifyAsync(_token, CancellationToken.None);
        return verdict.IsCompletedSuccessfully ? verdict.Result.Token is not null : throw new InvalidOperationException("a cached verdict waited");
    }

    /// <summary>A warm GET as the endpoint runs it: checks, verdict, stages, report, the answer written.</summary>
    [Benchmark]
    public int ServeWarmCredentials()
    {
        var answer = _door.ServeAsync(_context);
        // Warm, nothing waits: the task is complete (a wait would make this benchmark measure the wait).
        return answer.IsCompletedSuccessfully ? _context.Response.StatusCode : throw new InvalidOperationException("a warm request waited");
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _events?.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            _events?.Dispose();
            _verifier?.Dispose();
            _api?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
