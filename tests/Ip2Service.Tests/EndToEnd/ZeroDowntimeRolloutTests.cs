using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;
using Iam4Kube.Testing.Sts;
using Ip2Service.Tests.TestSupport;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.EndToEnd;

/// <summary>
/// Zero-downtime rollout, proven (issue 5): a client in a pod asks http://169.254.169.254 for its role's credentials
/// in a tight loop, a new TCP connection per request, while iam4kube is rolled twice (A → B → C) the way a
/// Deployment with <c>maxUnavailable: 0</c> does it. The test plays the EndpointSlice controller:
/// <list type="number">
/// <item>the new replica starts, turns ready (/readyz 200), and is added to the EndpointSlice;</item>
/// <item>the old replica gets SIGTERM, turns unready at once (/readyz 503), and leaves rotation: in the first step
/// listed as not ready and terminating until it has exited (what the controller does since Kubernetes 1.26), in the
/// second removed from the EndpointSlice at once;</item>
/// <item>ip2service rewrites the node's DNAT rules; the old replica keeps serving for its --shutdown-delay (so
/// connections that the old rules sent to it are answered), then drains and exits 0.</item>
/// </list>
/// Every request must succeed, with credentials that the fake STS minted for the pod's own role.
/// <code>
///   pod ──veth──▶ node ──veth (LoopbackBridge)──▶ root namespace: replicas A, B, C on ROOT-END, ADDR-B, ADDR-C :PORT
///                  │ ip2service run: DNAT 169.254.169.254:80 → the EndpointSlice's ready endpoints
/// </code>
/// The three replicas are real `dotnet iam4kube.dll` processes, each with an address of its own on the root end of
/// the bridge (same port, as pods of a Deployment), so one EndpointSlice with one port lists them all.
/// </summary>
public sealed class ZeroDowntimeRolloutTests
{
    private const string Python = "/usr/bin/python3";
    private const string RoleName = "checkout";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ShutdownDelay = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ExitMargin = TimeSpan.FromSeconds(5);
    private const int MinimumRequests = 200;

    /// <summary>A fresh HTTPConnection (so a fresh TCP connection, a fresh DNAT decision) per request, until the
    /// stop file appears. One line per request: "ok SEQ T ACCESS_KEY_ID" or "fail SEQ T WHY". Never prints a secret.</summary>
    private const string ClientScript = """
        import http.client, json, os, sys, time
        path, stop = sys.argv[1], sys.argv[2]
        n = 0
        start = time.monotonic()
        print("started", flush=True)
        while not os.path.exists(stop):
            n += 1
            t = time.monotonic() - start
            conn = http.client.HTTPConnection("169.254.169.254", 80, timeout=5)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    print(f"fail {n} {t:.3f} status={response.status} body={body[:200]!r}", flush=True)
                    continue
                document = json.loads(body)
                if document.get("Code") != "Success" or not document.get("AccessKeyId") or not document.get("SecretAccessKey") or not document.get("Token"):
                    print(f"fail {n} {t:.3f} incomplete document, keys={sorted(document)} code={document.get('Code')}", flush=True)
                    continue
                print(f"ok {n} {t:.3f} {document['AccessKeyId']}", flush=True)
            except Exception as e:
                print(f"fail {n} {t:.3f} {type(e).__name__}: {e}", flush=True)
            finally:
                conn.close()
        print(f"done {n}", flush=True)
        """;

    [Fact]
    public async Task ClientInAPodLosesNoRequestWhileIam4KubeIsRolledTwiceBehindIp2Service()
    {
        EnsureTools();
        var iam4kubeDll = Checkout.Iam4KubeDll();
        var home = Directory.CreateTempSubdirectory("iam4kube-rollout-").FullName;
        var stopFile = Path.Combine(home, "stop-client");
        var timeline = new StringBuilder();
        var clock = Stopwatch.StartNew();
        void Note(string what) => timeline.Append(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,8:F3}s {what}\n");
        try
        {
            using var sts = FakeSts.Start();
            await using var api = new FakeKubernetesApiServer();
            await api.StartAsync();
            await using var topology = await PodBehindNode.CreateAsync();
            var (node, bridge, pod, podIp) = (topology.Node, topology.Bridge, topology.Pod, topology.PodIp);
            // Many short connections: give the client room (its own namespace's settings only).
            await pod.Namespace.SetSysctlAsync("net.ipv4.ip_local_port_range", "10000 65000");
            await pod.Namespace.SetSysctlAsync("net.ipv4.tcp_tw_reuse", "1");

            // Each replica gets an address of its own on the root end of the bridge, as pods get IPs of their own;
            // the node reaches the extra ones over the same veth. The addresses go away with the veth.
            var addressA = bridge.RootAddress;
            var addressB = await AddReplicaAddressAsync(bridge, node);
            var addressC = await AddReplicaAddressAsync(bridge, node);
            var metadataPort = FreePorts.Pick(IPAddress.Any);

            var roleArn = KubeObjects.RoleArn(RoleName);
            api.Create(KubeObjects.Node("node-1", "eu-west-1", "eu-west-1a"));
            api.Create(KubeObjects.ServiceAccount("shop", RoleName, roleArn));
            api.Create(KubeObjects.Pod("shop", "checkout-7d9f8", podIp.ToString(), RoleName, node: "node-1"));

            var replicas = new List<Replica>();
            try
            {
                var a = await StartReplicaAsync("A", addressA, metadataPort, iam4kubeDll, api, sts, home, replicas);
                Note($"A ready at {a.Endpoint}, STS minted [{string.Join(", ", a.AccessKeyIds)}]");

                const string SliceName = "iam4kube-rollout";
                api.Create(Slice(SliceName, [Endpoint(a.Address.ToString())], port: metadataPort));

                using var kubeconfig = new TemporaryKubeconfig(bridge.Expose(new IPEndPoint(IPAddress.Loopback, api.BaseAddress.Port)));
                await using var ip2service = Ip2ServiceBinary.Start(
                    node,
                    "run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfig.Path,
                    "--iptables-backend", "nft");
                await ip2service.WaitForLineAsync($"1 endpoint(s): [{a.Endpoint}]", Timeout);
                await ip2service.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", Timeout);
                Note("ip2service ready: [A]");

                await using var client = pod.Start(
                    "/usr/bin/env",
                    [
                        "-i",
                        $"HOME={home}",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        Python, "-u", "-c", ClientScript,
                        $"/latest/meta-data/iam/security-credentials/{RoleName}", stopFile,
                    ]);
                string Context() =>
                    $"--- timeline ---\n{timeline}--- client failures ---\n{string.Join('\n', client.Lines.Where(l => l.StartsWith("fail", StringComparison.Ordinal)).Take(50))}\n"
                    + $"--- ip2service ---\n{ip2service.Output}"
                    + string.Concat(replicas.Select(r => $"--- iam4kube {r.Name} ---\n{r.Process.Output}"));

                await client.WaitForLineAsync(l => l.StartsWith("ok ", StringComparison.Ordinal), Timeout);
                await WaitForClientRequestsAsync(client, 50);
                Note($"client running ({client.LineCount} lines)");

                var b = await StartReplicaAsync("B", addressB, metadataPort, iam4kubeDll, api, sts, home, replicas);
                Note($"B ready at {b.Endpoint}, STS minted [{string.Join(", ", b.AccessKeyIds)}]");
                // First as the EndpointSlice controller does it since Kubernetes 1.26: the old endpoint stays listed, not ready
                // and terminating, until its pod is gone; then as the brief of issue 5 puts it: removed at once.
                var (aServedDuringShutdown, _) = await RollAsync(a, b, api, SliceName, metadataPort, ip2service, client, Note, Context, keepTerminating: true);

                var c = await StartReplicaAsync("C", addressC, metadataPort, iam4kubeDll, api, sts, home, replicas);
                Note($"C ready at {c.Endpoint}, STS minted [{string.Join(", ", c.AccessKeyIds)}]");
                var (bServedDuringShutdown, _) = await RollAsync(b, c, api, SliceName, metadataPort, ip2service, client, Note, Context, keepTerminating: false);

                // C alone serves for a while, then the client stops.
                var mark = client.LineCount;
                await WaitForClientRequestsAsync(client, 50, startAt: mark);
                await File.WriteAllTextAsync(stopFile, "stop");
                var done = await client.WaitForLineAsync(l => l.StartsWith("done ", StringComparison.Ordinal), Timeout);
                Assert.Equal(0, await client.WaitForExitAsync(Timeout));
                Note($"client stopped: {done}");

                // Every request answered, with credentials STS minted for the pod's role.
                var results = client.Lines.Where(l => l.StartsWith("ok ", StringComparison.Ordinal) || l.StartsWith("fail ", StringComparison.Ordinal)).ToList();
                var failures = results.Where(l => l.StartsWith("fail ", StringComparison.Ordinal)).ToList();
                var made = int.Parse(done["done ".Length..], CultureInfo.InvariantCulture);
                Assert.True(failures.Count == 0, $"{failures.Count} of {made} requests failed during the rollout\n{Context()}");
                Assert.Equal(made, results.Count);
                Assert.True(made >= MinimumRequests, $"only {made} requests were made (at least {MinimumRequests} needed to prove anything)\n{Context()}");

                var calls = sts.Calls.Where(call => call.AccessKeyIdIssued is not null).ToDictionary(call => call.AccessKeyIdIssued!);
                var seen = results.Select(l => l.Split(' ')[3]).ToHashSet();
                foreach (var accessKeyId in seen)
                {
                    Assert.True(calls.TryGetValue(accessKeyId, out var call), $"the client got access key {accessKeyId}, which the fake STS never minted\n{Context()}");
                    Assert.Equal(roleArn, call.RoleArn);
                    Assert.Equal("shop@checkout", call.RoleSessionName);
                }
                // The rollout really moved the traffic: every replica answered some of the requests.
                foreach (var replica in new[] { a, b, c })
                {
                    Assert.True(replica.AccessKeyIds.Overlaps(seen), $"no request was answered by replica {replica.Name}\n{Context()}");
                }
                Assert.True(aServedDuringShutdown > 0 && bServedDuringShutdown > 0, $"the client made no request while a replica was shutting down\n{Context()}");
                Note($"{made} requests, 0 failed, {seen.Count} access keys, all minted for {roleArn}");
                Console.WriteLine(timeline.ToString());
            }
            finally
            {
                foreach (var replica in replicas)
                {
                    await replica.Process.DisposeAsync();
                }
            }
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>One rollout step, old → next (next is ready already): add next to the slice, SIGTERM old, take old
    /// out of the slice as soon as its /readyz says 503, and check it keeps serving for the shutdown delay, drains
    /// and exits 0 in time. Returns how many client requests were made between SIGTERM and old's exit.</summary>
    private static async Task<(int RequestsDuringShutdown, TimeSpan ExitAfter)> RollAsync(
        Replica old,
        Replica next,
        FakeKubernetesApiServer api,
        string sliceName,
        int port,
        BackgroundProcess ip2service,
        BackgroundProcess client,
        Action<string> note,
        Func<string> context,
        bool keepTerminating)
    {
        // The endpoint controller adds the ready replica.
        var mark = ip2service.LineCount;
        UpdateSlice(api, sliceName, port, [old.Address, next.Address]);
        await WaitForProgrammedAsync(ip2service, [old.Endpoint, next.Endpoint], mark);
        note($"ip2service: [{old.Name}, {next.Name}]");
        await WaitForClientRequestsAsync(client, 30, startAt: client.LineCount);

        // The kubelet stops the old one.
        var clientMark = client.LineCount;
        var sigterm = Stopwatch.StartNew();
        await ProcessRunner.RunCheckedAsync("kill", ["-TERM", old.Process.Id.ToString(CultureInfo.InvariantCulture)]);
        note($"SIGTERM {old.Name}");
        await WaitForUnreadyAsync(old);
        var unreadyAfter = sigterm.Elapsed;
        note($"{old.Name} unready ({unreadyAfter.TotalMilliseconds:F0} ms after SIGTERM)");
        Assert.True(unreadyAfter < ShutdownDelay, $"{old.Name} turned unready only {unreadyAfter} after SIGTERM\n{context()}");

        // The endpoint controller takes it out of rotation on readiness false (listed as terminating, or removed);
        // ip2service follows.
        mark = ip2service.LineCount;
        UpdateSlice(api, sliceName, port, [next.Address], terminating: keepTerminating ? [old.Address] : []);
        await WaitForProgrammedAsync(ip2service, [next.Endpoint], mark);
        var removedAfter = sigterm.Elapsed;
        note($"ip2service: [{next.Name}] ({removedAfter.TotalMilliseconds:F0} ms after SIGTERM; {old.Name} {(keepTerminating ? "listed as terminating" : "removed")})");
        Assert.True(removedAfter < ShutdownDelay, $"the rules dropped {old.Name} only {removedAfter} after SIGTERM, later than its shutdown delay {ShutdownDelay}: the test would not prove anything\n{context()}");

        var code = await old.Process.WaitForExitAsync(ShutdownDelay + DrainTimeout + ExitMargin + TimeSpan.FromSeconds(10));
        var exitAfter = sigterm.Elapsed;
        var during = client.Lines.Skip(clientMark).Count(l => l.StartsWith("ok ", StringComparison.Ordinal) || l.StartsWith("fail ", StringComparison.Ordinal));
        note($"{old.Name} exited {code} ({exitAfter.TotalMilliseconds:F0} ms after SIGTERM; {during} client requests meanwhile)");
        Assert.True(code == 0, $"{old.Name} exited with {code}\n{context()}");
        Assert.True(exitAfter >= ShutdownDelay - TimeSpan.FromMilliseconds(100), $"{old.Name} exited {exitAfter} after SIGTERM, before its shutdown delay {ShutdownDelay} was over\n{context()}");
        Assert.True(exitAfter <= ShutdownDelay + DrainTimeout + ExitMargin, $"{old.Name} exited only {exitAfter} after SIGTERM (shutdown delay {ShutdownDelay} + drain {DrainTimeout} + margin {ExitMargin})\n{context()}");
        if (keepTerminating)
        {
            // The pod is gone: the controller drops its endpoint (the rules do not change).
            UpdateSlice(api, sliceName, port, [next.Address]);
        }
        return (during, exitAfter);
    }

    private sealed record Replica(string Name, IPAddress Address, int Port, int AdminPort, BackgroundProcess Process, HashSet<string> AccessKeyIds)
    {
        public string Endpoint => $"{Address}:{Port}";

        public Uri Readyz => new($"http://127.0.0.1:{AdminPort}/readyz");
    }

    private static async Task<Replica> StartReplicaAsync(
        string name,
        IPAddress address,
        int metadataPort,
        string iam4kubeDll,
        FakeKubernetesApiServer api,
        FakeSts sts,
        string home,
        List<Replica> replicas)
    {
        var callsBefore = sts.Calls.Count;
        var adminPort = FreePorts.Pick(IPAddress.Loopback);
        var process = NetworkNamespace.Root.Start(
            ProcessRunner.DotnetHost,
            [
                iam4kubeDll,
                "--kubeconfig", api.KubeconfigPath,
                "--sts-endpoint", sts.Url,
                "--region", "eu-west-1",
                "--listen", $"{address}:{metadataPort}",
                "--admin-listen", $"127.0.0.1:{adminPort}",
                "--log-format", "text",
                "--shutdown-delay", DurationArgument(ShutdownDelay),
                "--drain-timeout", DurationArgument(DrainTimeout),
            ],
            Iam4KubeProgram.Environment(home, $"iam4kube-{name}"));
        var replica = new Replica(name, address, metadataPort, adminPort, process, []);
        replicas.Add(replica);
        await WaitForReadyAsync(replica);
        // Only this replica starts while the others run on cached credentials (1 h): what STS minted meanwhile is its.
        foreach (var call in sts.Calls.Skip(callsBefore))
        {
            if (call.AccessKeyIdIssued is not null)
            {
                replica.AccessKeyIds.Add(call.AccessKeyIdIssued);
            }
        }
        return replica;
    }

    private static string DurationArgument(TimeSpan value) => ((int)value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";

    private static async Task<IPAddress> AddReplicaAddressAsync(LoopbackBridge bridge, NetworkNamespace node)
    {
        var address = LinkAddresses.AllocateAddress();
        await NetworkNamespace.Root.AddAddressAsync(bridge.Link.LeftDevice, $"{address}/32");
        await node.AddRouteAsync($"{address}/32", device: bridge.Link.RightDevice);
        return address;
    }

    private static void UpdateSlice(FakeKubernetesApiServer api, string name, int port, IEnumerable<IPAddress> ready, IEnumerable<IPAddress>? terminating = null) =>
        api.Update(Slice(
            name,
            [
                .. ready.Select(address => Endpoint(address.ToString())),
                .. (terminating ?? []).Select(address => Endpoint(address.ToString(), ready: false, terminating: true)),
            ],
            port: port));

    private static Task<string> WaitForProgrammedAsync(BackgroundProcess ip2service, IReadOnlyList<string> endpoints, int startAt) =>
        ip2service.WaitForLineAsync(
            line => line.Contains($"now send connections to {endpoints.Count} endpoint(s): [", StringComparison.Ordinal)
                && endpoints.All(endpoint => line.Contains(endpoint, StringComparison.Ordinal)),
            Timeout,
            startAt);

    private static async Task WaitForClientRequestsAsync(BackgroundProcess client, int count, int startAt = 0)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (client.Lines.Skip(startAt).Count(l => l.StartsWith("ok ", StringComparison.Ordinal) || l.StartsWith("fail ", StringComparison.Ordinal)) < count)
        {
            if (client.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"the client did not make {count} requests.\n--- client ---\n{string.Join('\n', client.Lines.TakeLast(40))}");
            }
            await Task.Delay(20);
        }
    }

    private static void EnsureTools()
    {
        NetworkPrerequisites.EnsureIptables();
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException($"{Python} is needed; run ./test.sh, which installs it");
        }
        if (!File.Exists("/usr/bin/env"))
        {
            throw new InvalidOperationException("/usr/bin/env (coreutils) is needed");
        }
    }

    private static Task WaitForReadyAsync(Replica replica) =>
        ReadinessProbe.WaitUntilReadyAsync(replica.Process, replica.Readyz, Timeout, $"iam4kube {replica.Name}");

    /// <summary>Polls /readyz (a fresh connection each time, as the kubelet's probe) until it says 503.</summary>
    private static async Task WaitForUnreadyAsync(Replica replica)
    {
        var deadline = DateTime.UtcNow + Timeout;
        var last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(2) };
            try
            {
                using var response = await http.GetAsync(replica.Readyz);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    return;
                }
                last = $"{(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                throw new InvalidOperationException($"iam4kube {replica.Name}'s /readyz stopped answering before it said 503: {e.Message}\n--- output ---\n{replica.Process.Output}", e);
            }
            catch (TaskCanceledException e)
            {
                last = e.Message;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"iam4kube {replica.Name} did not turn unready within {Timeout} (last /readyz: {last}).\n--- output ---\n{replica.Process.Output}");
    }
}
