using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Tests.EndToEnd;
using Iam4Kube.Tests.TestHost;
using Iam4Kube.Watching;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit.Abstractions;

namespace Iam4Kube.Tests.Identity;

/// <summary>
/// The race kube2iam and kiam lost: a randomized, seeded churn of pods (IPs reused at once by pods of other
/// namespaces, DELETEs missed and seen only through a relist), ServiceAccount annotations and watch streams, while
/// many clients ask for credentials from the IPs that pods own. Oracle: every credentials answer belongs to a pod
/// that owned the caller's IP during the request (or moments before: event delivery), with a role its
/// ServiceAccount named then, and that its namespace permitted then (--namespace-restrictions is on: namespaces'
/// allowed-roles and permitted annotations change too). Pods are IPv4, IPv6 or dual stack (status.podIPs with one
/// address of each family); an IPv6 address moves between pods of different namespaces as an IPv4 one does, and
/// clients call from real IPv6 source addresses (<see cref="LocalIpv6Addresses"/>) to iam4kube listening on [::].
/// Set IAM4KUBE_INTERLEAVING_SEED / IAM4KUBE_INTERLEAVING_REQUESTS to reproduce or scale.
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class InterleavingTests(ITestOutputHelper output)
{
    private const int DefaultRequests = 100_000;
    private const int DefaultSeed = 20261123;
    // Event delivery on a busy 2-core machine (the fake API server, iam4kube and 16 clients share it).
    private static readonly TimeSpan EventDeliveryLag = TimeSpan.FromSeconds(1.5);
    private static readonly string[] Namespaces = ["alpha", "beta", "gamma", "delta"];
    private static readonly string[] ServiceAccounts = ["web", "worker", "batch"];
    private static readonly string[] Roles = [.. Enumerable.Range(0, 6).Select(i => KubeObjects.RoleArn($"role-{i}"))];

    // The quiet faults (silent and stalled watches, 504 TooLarge) run with short bounds: a watch idle for 1 s is
    // replaced, a view older than 2 s is not answered from.
    private static readonly TimeSpan FaultIdleTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FaultMaxViewAge = TimeSpan.FromSeconds(2);

    [Fact]
    public Task NoIpEverGetsCredentialsOfAPodThatDidNotOwnIt() => CheckAsync(quietFaults: false, DefaultRequests);

    /// <summary>
    /// The same churn while watches also go silent (half-open), stall, or answer 504 ResourceVersionTooLarge with
    /// lists too: an answer may be stale by up to --max-view-age (plus event delivery), never more.
    /// </summary>
    [Fact]
    public Task NoIpGetsCredentialsOfAPodThatDidNotOwnItBeyondTheBoundWhileWatchesGoSilentOrTooLarge() =>
        CheckAsync(quietFaults: true, DefaultRequests / 3);

    private async Task CheckAsync(bool quietFaults, int defaultRequests)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("IAM4KUBE_INTERLEAVING_SEED"), out var s) ? s : DefaultSeed;
        var requests = int.TryParse(Environment.GetEnvironmentVariable("IAM4KUBE_INTERLEAVING_REQUESTS"), out var r) ? r : defaultRequests;
        Run? run = null;
        try
        {
            run = await RunAsync(seed, requests, quietFaults);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"interleaving run failed with seed {seed} (rerun with IAM4KUBE_INTERLEAVING_SEED={seed})", e);
        }

        output.WriteLine($"seed {seed}: {run.Requests} requests, {run.CredentialsServed} credentials checked, {run.Operations} cluster operations " +
            $"({run.Reuses} IP reuses, {run.MissedDeletes} missed deletes, {run.Relists} forced relists, {run.AnnotationChanges} annotation changes, {run.NamespaceChanges} namespace rule changes, {run.WatchDrops} dropped watches, " +
            $"{run.QuietFaults} quiet faults; {run.DualStackPods} dual-stack pods, {run.Ipv6Reuses} IPv6 reuses, {run.Ipv6CredentialsServed} credentials to IPv6 callers), " +
            $"{run.Violations.Count} violations, {run.Refused} answers refused as too stale");
        Assert.True(run.Violations.IsEmpty, $"seed {seed}: {run.Violations.Count} violations, e.g. {string.Join(" | ", run.Violations.Take(5))}");
        Assert.True(run.Requests >= requests);
        Assert.True(run.CredentialsServed > requests / 10, $"only {run.CredentialsServed} credentials answers: the run proves little");
        Assert.True(run.Reuses > 0 && run.MissedDeletes > 0 && run.Relists > 0 && run.AnnotationChanges > 0 && run.NamespaceChanges > 0);
        Assert.True(!quietFaults || run.QuietFaults > 0);
        Assert.True(run.DualStackPods > 0 && run.Ipv6Reuses > 0 && run.Ipv6CredentialsServed > 0, "the run must include IPv6 pods, their reuse and their callers");
        Assert.Empty(run.UnexpectedStatuses);
    }

    private static async Task<Run> RunAsync(int seed, int targetRequests, bool quietFaults)
    {
        await using var v6Sources = await LocalIpv6Addresses.CreateAsync(20);
        await using var host = await Iam4KubeTestHost.StartAsync(
            o => o with
            {
                WaitTimeout = TimeSpan.FromMilliseconds(300),
                StsRate = 100_000,
                StsBurst = 100_000,
                LogLevel = Serilog.Events.LogEventLevel.Error,
                WatchIdleTimeout = quietFaults ? FaultIdleTimeout : o.WatchIdleTimeout,
                MaxViewAge = quietFaults ? FaultMaxViewAge : o.MaxViewAge,
                NamespaceRestrictions = true,
                // A dual-stack socket: IPv4 callers arrive as ::ffff:127.0.50.x (iam4kube maps them back), IPv6
                // callers from their own address.
                Listen = new IPEndPoint(IPAddress.IPv6Any, 0),
            },
            services =>
            {
                if (quietFaults)
                {
                    services.Replace(ServiceDescriptor.Singleton(new WatchSettings
                    {
                        IdleTimeout = FaultIdleTimeout,
                        InitialBackoff = TimeSpan.FromMilliseconds(100),
                        MaxBackoff = TimeSpan.FromSeconds(1),
                    }));
                }
            });
        var api = host.Api;
        if (quietFaults)
        {
            // kube-apiserver's heartbeat, shortened like the idle timeout.
            api.BookmarkInterval = TimeSpan.FromMilliseconds(300);
        }

        // Outside quiet faults, answers may lag only by event delivery; with them, by the view's bound as well.
        var lag = quietFaults ? EventDeliveryLag + FaultMaxViewAge : EventDeliveryLag;
        var history = new OwnershipHistory();
        var run = new Run();
        var random = new Random(seed);

        api.Create(KubeObjects.Node("node-1"));
        foreach (var ns in Namespaces)
        {
            var (permitted, namespaceObject) = PickPermits(random, ns);
            history.PermitChange(ns, permitted, () => api.Create(namespaceObject));
        }

        foreach (var ns in Namespaces)
        {
            foreach (var sa in ServiceAccounts)
            {
                var role = PickRole(random);
                history.RoleChange(ns, sa, role, () => api.Create(KubeObjects.ServiceAccount(ns, sa, role)));
            }
        }

        var ipv4 = Enumerable.Range(1, 40).Select(i => $"127.0.50.{i}").ToArray();
        var ipv6 = v6Sources.Addresses.Select(a => a.ToString()).ToArray();
        var ips = ipv4.Concat(ipv6).ToArray();
        // Every address of a pod maps to it; a dual-stack pod is deleted (and its addresses freed) as one.
        var pods = new Dictionary<string, (string Namespace, string Name, string ServiceAccount, string[] Ips)>();
        var podCounter = 0;

        void CreatePod(string ip, string? avoidNamespace = null)
        {
            var ns = Namespaces.Where(n => n != avoidNamespace).ElementAt(random.Next(avoidNamespace is null ? Namespaces.Length : Namespaces.Length - 1));
            var sa = ServiceAccounts[random.Next(ServiceAccounts.Length)];
            var name = $"pod-{++podCounter}";
            // Half the pods are dual stack: one free address of the other family too, listed second (the first
            // of status.podIPs is status.podIP, so both orders occur).
            var otherFamily = (ip.Contains(':', StringComparison.Ordinal) ? ipv4 : ipv6).Where(a => !pods.ContainsKey(a)).ToList();
            string[] podIps = random.Next(2) == 0 && otherFamily.Count > 0 ? [ip, otherFamily[random.Next(otherFamily.Count)]] : [ip];
            var pod = KubeObjects.Pod(ns, name, ip, sa);
            pod.Status.PodIPs = [.. podIps.Select(a => new V1PodIP { Ip = a })];
            foreach (var podIp in podIps)
            {
                history.PodStarted(podIp, ns, sa, name, OwnershipHistory.Now);
                pods[podIp] = (ns, name, sa, podIps);
            }

            api.Create(pod);
            if (podIps.Length == 2)
            {
                run.DualStackPods++;
            }
        }

        void DeletePod(string ip, bool silently)
        {
            var (ns, name, _, podIps) = pods[ip];
            if (silently)
            {
                api.DeleteSilently<V1Pod>(ns, name);
            }
            else
            {
                api.Delete<V1Pod>(ns, name);
            }

            foreach (var podIp in podIps)
            {
                history.PodEnded(podIp, name, OwnershipHistory.Now);
                pods.Remove(podIp);
            }
        }

        void Reused(string ip)
        {
            run.Reuses++;
            if (ip.Contains(':', StringComparison.Ordinal))
            {
                run.Ipv6Reuses++;
            }
        }

        foreach (var ip in ipv4.Take(24).Concat(ipv6.Take(8)).Where(ip => !pods.ContainsKey(ip)))
        {
            CreatePod(ip);
        }

        await host.WaitUntilReadyAsync();
        using var stop = new CancellationTokenSource();
        var clients = new ConcurrentDictionary<string, HttpClient>();
        var workers = Enumerable.Range(0, 16)
            .Select(i => Task.Run(() => ClientLoopAsync(host, history, clients, run, new Random(seed + i + 1), targetRequests, lag, stop)))
            .ToList();

        // A missed DELETE stays unseen for longer than the allowed event-delivery lag, so that answering from the
        // stale pod would be caught.
        long? missedDeleteAt = null;
        var lastDrop = OwnershipHistory.Now;
        long? quietFaultUntil = null;
        while (!stop.IsCancellationRequested)
        {
            if (quietFaultUntil is { } until && OwnershipHistory.Now > until)
            {
                api.StallWatches = false;
                api.WatchFault = null;
                api.ListFault = null;
                quietFaultUntil = null;
            }

            // About one operation in 400, and surely one by the 100th: a fast run has only a few hundred operations,
            // and a run without a quiet fault would prove nothing about them.
            if (quietFaults && quietFaultUntil is null && (random.Next(400) == 0 || (run.QuietFaults == 0 && run.Operations >= 100)))
            {
                // A fault that says nothing: half-open watches (new ones work), a stalled watch cache, or a lagging
                // API server answering 504 TooLarge to every list and watch, for a second or three.
                switch (random.Next(3))
                {
                    case 0:
                        api.SilenceWatches();
                        break;
                    case 1:
                        api.StallWatches = true;
                        break;
                    default:
                        api.WatchFault = ApiFault.ResourceVersionTooLarge;
                        api.ListFault = ApiFault.ResourceVersionTooLarge;
                        api.DropWatches();
                        break;
                }

                quietFaultUntil = OwnershipHistory.Now + (long)(TimeSpan.FromSeconds(1 + random.Next(3)).TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
                run.QuietFaults++;
            }

            var roll = random.Next(100);
            var owned = pods.Keys.ToList();
            var free = ips.Where(ip => !pods.ContainsKey(ip)).ToList();
            switch (roll)
            {
                case < 25 when free.Count > 0:
                    CreatePod(free[random.Next(free.Count)]);
                    break;
                case < 40 when owned.Count > 8:
                    DeletePod(owned[random.Next(owned.Count)], silently: false);
                    break;
                case < 55 when owned.Count > 0:
                {
                    // The IP goes to a pod of another namespace at once.
                    var ip = owned[random.Next(owned.Count)];
                    var previousNamespace = pods[ip].Namespace;
                    DeletePod(ip, silently: false);
                    CreatePod(ip, avoidNamespace: previousNamespace);
                    Reused(ip);
                    break;
                }

                case < 62 when owned.Count > 0:
                {
                    // iam4kube never sees this DELETE: only a relist reveals it, and meanwhile the IP is reused.
                    var ip = owned[random.Next(owned.Count)];
                    var previousNamespace = pods[ip].Namespace;
                    DeletePod(ip, silently: true);
                    CreatePod(ip, avoidNamespace: previousNamespace);
                    run.MissedDeletes++;
                    Reused(ip);
                    missedDeleteAt ??= OwnershipHistory.Now;
                    break;
                }

                case < 68 when missedDeleteAt is { } missed
                    ? OwnershipHistory.Elapsed(missed, OwnershipHistory.Now) > 2 * EventDeliveryLag
                    : random.Next(10) == 0 && OwnershipHistory.Elapsed(lastDrop, OwnershipHistory.Now) > TimeSpan.FromSeconds(2):
                    api.CompactHistory();
                    api.DropWatches();
                    lastDrop = OwnershipHistory.Now;
                    run.Relists++;
                    missedDeleteAt = null;
                    break;
                // The namespace's rules change: kube2iam's globs or kiam's regex, some roles in, some out. About once
                // a second in all, so that a namespace's rules mostly stay put longer than the allowed event-delivery
                // lag: otherwise every role would have been permitted at some moment of the window, and the check
                // would catch nothing.
                case < 69 when random.Next(2) == 0:
                {
                    var ns = Namespaces[random.Next(Namespaces.Length)];
                    var (permitted, edited) = PickPermits(random, ns);
                    var current = api.Get<V1Namespace>(null, ns)!;
                    current.Metadata.Annotations = edited.Metadata.Annotations;
                    history.PermitChange(ns, permitted, () => api.Update(current));
                    run.NamespaceChanges++;
                    break;
                }

                case < 85:
                {
                    var ns = Namespaces[random.Next(Namespaces.Length)];
                    var sa = ServiceAccounts[random.Next(ServiceAccounts.Length)];
                    var role = PickRole(random);
                    var account = api.Get<V1ServiceAccount>(ns, sa)!;
                    account.Metadata.Annotations ??= new Dictionary<string, string>();
                    if (role is null)
                    {
                        account.Metadata.Annotations.Remove(KubeObjects.RoleArnAnnotation);
                    }
                    else
                    {
                        account.Metadata.Annotations[KubeObjects.RoleArnAnnotation] = role;
                    }

                    history.RoleChange(ns, sa, role, () => api.Update(account));
                    run.AnnotationChanges++;
                    break;
                }

                // Dropped connections, but not every few milliseconds: a watch broken again and again within a
                // second looks like a failing server, and iam4kube then rightly backs off (up to 30 s).
                case < 90 when OwnershipHistory.Elapsed(lastDrop, OwnershipHistory.Now) > TimeSpan.FromSeconds(2):
                    api.DropWatches(midFrame: random.Next(2) == 0);
                    lastDrop = OwnershipHistory.Now;
                    run.WatchDrops++;
                    break;
            }

            run.Operations++;
            await Task.Delay(random.Next(1, 4));
            if (workers.All(w => w.IsCompleted))
            {
                break;
            }
        }

        await Task.WhenAll(workers);
        foreach (var client in clients.Values)
        {
            client.Dispose();
        }

        return run;
    }

    /// <summary>Each role permitted with probability 2/3, written as globs of bare names or as one anchored regex.</summary>
    private static (IReadOnlySet<string> Permitted, V1Namespace Namespace) PickPermits(Random random, string ns)
    {
        var indexes = Enumerable.Range(0, Roles.Length).Where(_ => random.Next(3) != 0).ToList();
        var permitted = indexes.Select(i => Roles[i]).ToHashSet();
        var namespaceObject = random.Next(2) == 0
            ? KubeObjects.Namespace(ns, allowedRoles: JsonSerializer.Serialize(indexes.Select(i => $"role-{i}")))
            : KubeObjects.Namespace(ns, permitted: indexes.Count == 0 ? "" : $"role-({string.Join('|', indexes)})");
        return (permitted, namespaceObject);
    }

    private static string? PickRole(Random random) => random.Next(8) == 0 ? null : Roles[random.Next(Roles.Length)];

    private static async Task ClientLoopAsync(
        Iam4KubeTestHost host,
        OwnershipHistory history,
        ConcurrentDictionary<string, HttpClient> clients,
        Run run,
        Random random,
        int targetRequests,
        TimeSpan lag,
        CancellationTokenSource stop)
    {
        while (Interlocked.Add(ref run.RequestCount, 0) < targetRequests)
        {
            var owned = history.OwnedIps();
            if (owned.Count == 0)
            {
                await Task.Delay(1);
                continue;
            }

            var ip = owned[random.Next(owned.Count)];
            var client = clients.GetOrAdd(ip, a => host.ClientFrom(a, TimeSpan.FromSeconds(10)));
            var started = OwnershipHistory.Now;
            string? token = null;
            if (random.Next(3) == 0)
            {
                using var put = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
                put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
                var tokenResponse = await client.SendAsync(put);
                Count(run, "PUT token", tokenResponse.StatusCode, HttpStatusCode.OK);
                token = await tokenResponse.Content.ReadAsStringAsync();
            }

            var listing = await SendAsync(client, "/latest/meta-data/iam/security-credentials/", token);
            Count(run, "GET role", listing.StatusCode, HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.ServiceUnavailable, HttpStatusCode.Unauthorized);
            if (listing.StatusCode != HttpStatusCode.OK)
            {
                continue;
            }

            var roleName = await listing.Content.ReadAsStringAsync();
            var response = await SendAsync(client, "/latest/meta-data/iam/security-credentials/" + roleName, token);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable
                && (await response.Content.ReadAsStringAsync()).Contains("view of", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref run.RefusedCount);
            }

            Count(run, "GET credentials", response.StatusCode, HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.ServiceUnavailable, HttpStatusCode.Unauthorized);
            var finished = OwnershipHistory.Now;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                continue;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var accessKeyId = json.RootElement.GetProperty("AccessKeyId").GetString()!;
            if (!host.Sts.Issued.TryGetValue(accessKeyId, out var issued))
            {
                run.Violations.Add($"{ip} got access key {accessKeyId} that STS never issued");
                continue;
            }

            var session = issued.RoleSessionName.Split('@');
            var violation = history.Violation(ip, session[0], session[1], issued.RoleArn, started, finished, lag);
            if (violation is not null)
            {
                run.Violations.Add(violation);
            }

            Interlocked.Increment(ref run.CredentialsCount);
            if (ip.Contains(':', StringComparison.Ordinal))
            {
                Interlocked.Increment(ref run.Ipv6CredentialsCount);
            }
        }

        await stop.CancelAsync();
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Add("X-aws-ec2-metadata-token", token);
        }

        return await client.SendAsync(request);
    }

    private static void Count(Run run, string what, HttpStatusCode status, params HttpStatusCode[] allowed)
    {
        Interlocked.Increment(ref run.RequestCount);
        if (!allowed.Contains(status))
        {
            run.UnexpectedStatuses.Add($"{what}: {(int)status}");
        }
    }

    private sealed class Run
    {
        public int RequestCount;
        public int CredentialsCount;
        public int Ipv6CredentialsCount;
        public int RefusedCount;

        public int Ipv6CredentialsServed => Volatile.Read(ref Ipv6CredentialsCount);

        public int DualStackPods { get; set; }

        public int Ipv6Reuses { get; set; }

        public int Refused => Volatile.Read(ref RefusedCount);

        public int QuietFaults { get; set; }

        public int Requests => Volatile.Read(ref RequestCount);

        public int CredentialsServed => Volatile.Read(ref CredentialsCount);

        public ConcurrentBag<string> Violations { get; } = [];

        public ConcurrentBag<string> UnexpectedStatuses { get; } = [];

        public int Operations { get; set; }

        public int Reuses { get; set; }

        public int MissedDeletes { get; set; }

        public int Relists { get; set; }

        public int AnnotationChanges { get; set; }

        public int NamespaceChanges { get; set; }

        public int WatchDrops { get; set; }
    }
}
