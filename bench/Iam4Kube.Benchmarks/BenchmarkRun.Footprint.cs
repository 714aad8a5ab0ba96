using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Iam4Kube.Testing.Builders;

namespace Iam4Kube.Benchmarks;

internal sealed partial class BenchmarkRun
{
    private const string FootprintScenario = "8 footprint (published build, small cluster)";
    private const int SmallClusterPods = 50;
    private const int SmallClusterRoles = 10;
    private const int FootprintRequests = 2_000;
    private const int LargeScalePods = 100_000;
    private const int LargeScaleRoles = 10_000;

    /// <summary>
    /// Scenario 8 (issue 15): the published build (build/publish.sh, as the image ships it) started again and again
    /// against a small cluster: process start → first 200 credentials answer, the CPU time that took (what load on
    /// the machine does not inflate), and the resident memory at that moment and, once /readyz has said ready as the
    /// kubelet's probe would ask it, after some requests.
    /// </summary>
    private async Task RunFootprintAsync()
    {
        var iam4kube = settings.PublishedIam4Kube ?? throw new InvalidOperationException(
            "scenario 8 runs the published build: pass --published OUT/iam4kube/iam4kube (bench/run.sh publishes it)");
        Console.WriteLine($"[8] footprint: {iam4kube}, {SmallClusterPods} pods, {SmallClusterRoles} roles; {settings.FootprintStarts} cold starts (+1 warm-up)"
            + (settings.Iam4KubeEnvironment.Count > 0 ? $"; environment {string.Join(' ', settings.Iam4KubeEnvironment.Select(e => $"{e.Key}={e.Value}"))}" : ""));
        await using var sut = await Iam4KubeUnderTest.CreateAsync();
        for (var i = 0; i < SmallClusterRoles; i++)
        {
            sut.Api.Create(KubeObjects.ServiceAccount(Namespace, $"sa-{i}", KubeObjects.RoleArn($"small-{i}")));
        }

        sut.Api.Create(KubeObjects.ServiceAccount(Namespace, "app", KubeObjects.RoleArn(RoleName)));
        sut.Api.Create(KubeObjects.Pod(Namespace, "me", "127.0.0.1", "app"));
        for (var i = 1; i < SmallClusterPods; i++)
        {
            sut.Api.Create(KubeObjects.Pod(Namespace, $"pod-{i}", $"10.1.0.{i}", $"sa-{i % SmallClusterRoles}"));
        }

        var listening = new List<double>();
        var firstAnswer = new List<double>();
        var cpuAtAnswer = new List<double>();
        var atStart = new List<ProcessMemory>();
        var afterRequests = new List<ProcessMemory>();
        var cpuPerRequest = new List<double>();
        for (var start = 0; start <= settings.FootprintStarts; start++)
        {
            var started = sut.Launch(iam4kube, environment: settings.Iam4KubeEnvironment);
            try
            {
                var listen = WaitForListenerAsync(sut, started);
                var answered = await FirstCredentialsAnswerAsync(sut, started);
                var cpu = sut.CpuTime();
                var memory = sut.Memory();
                var listenedAt = await listen;
                // The kubelet's readiness probe (the chart asks /readyz every 2 s) comes before the Service sends the
                // replica traffic; readiness latching is also when iam4kube returns the first sync's garbage.
                await sut.WaitUntilReadyAsync(TimeSpan.FromMinutes(1));
                await SomeRequestsAsync(sut);
                // A second for anything the requests left to settle (a GC, a timer), as a scrape would find it.
                await Task.Delay(TimeSpan.FromSeconds(1));
                var memoryAfter = sut.Memory();
                var cpuForRequests = (sut.CpuTime() - cpu).TotalMilliseconds * 1000 / FootprintRequests;
                Console.WriteLine($"    start {start}{(start == 0 ? " (warm-up, not counted)" : "")}: listening {Format.Ms(listenedAt.TotalMilliseconds)}, "
                    + $"first credentials 200 {Format.Ms(answered.TotalMilliseconds)} (CPU {Format.Ms(cpu.TotalMilliseconds)}), RSS {Describe(memory)}; "
                    + $"after {FootprintRequests} requests RSS {Describe(memoryAfter)}, CPU {Format.Num(cpuForRequests)} µs/request");
                if (start == 0)
                {
                    continue;
                }

                listening.Add(listenedAt.TotalSeconds);
                firstAnswer.Add(answered.TotalSeconds);
                cpuAtAnswer.Add(cpu.TotalSeconds);
                atStart.Add(memory);
                afterRequests.Add(memoryAfter);
                cpuPerRequest.Add(cpuForRequests);
            }
            finally
            {
                await sut.StopAsync();
            }
        }

        var answer = Stats.Median(firstAnswer);
        var rssAfter = Stats.Median(afterRequests.Select(m => m.RssMiB));
        table.Add(FootprintScenario, "process start → listening (admin port accepts)", $"{Format.Num(Stats.Median(listening), "0.000")} s");
        table.Add(FootprintScenario, $"process start → first credentials 200 (median of {firstAnswer.Count})", $"{Format.Num(answer, "0.000")} s", "<= 0.15 s", answer <= 0.15);
        table.Add(FootprintScenario, "CPU time (user + sys) to first answer", $"{Format.Num(Stats.Median(cpuAtAnswer), "0.00")} s");
        table.Add(FootprintScenario, "RSS at first answer (anon / file / shmem)", DescribeMedian(atStart));
        table.Add(FootprintScenario, $"RSS after {FootprintRequests} requests (anon / file / shmem)", DescribeMedian(afterRequests), "<= 30 MiB", rssAfter <= 30);
        table.Add(FootprintScenario, "CPU per request while warming (first requests after start)", $"{Format.Num(Stats.Median(cpuPerRequest))} µs");
    }

    private static string Describe(ProcessMemory m) => $"{Format.Num(m.RssMiB)} MiB ({Format.Num(m.AnonMiB)} / {Format.Num(m.FileMiB)} / {Format.Num(m.ShmemMiB)})";

    private static string DescribeMedian(List<ProcessMemory> all) => Describe(new ProcessMemory(
        Stats.Median(all.Select(m => m.RssMiB)), Stats.Median(all.Select(m => m.AnonMiB)), Stats.Median(all.Select(m => m.FileMiB)), Stats.Median(all.Select(m => m.ShmemMiB))));

    /// <summary>When the admin port first accepts a connection: Kestrel is up (the host is built, the listeners bound).</summary>
    private static async Task<TimeSpan> WaitForListenerAsync(Iam4KubeUnderTest sut, Stopwatch since)
    {
        var admin = new IPEndPoint(IPAddress.Loopback, sut.AdminUri.Port);
        while (since.Elapsed < TimeSpan.FromMinutes(1))
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(admin);
                return since.Elapsed;
            }
            catch (SocketException)
            {
                await Task.Delay(2);
            }
        }

        throw new TimeoutException("iam4kube's admin port never accepted a connection");
    }

    /// <summary>
    /// Asks for the credentials of the pod at 127.0.0.1 until the answer is 200: refused connections are retried
    /// every 2 ms; a request that connects waits (parks) inside iam4kube until its pod and role are known.
    /// </summary>
    private static async Task<TimeSpan> FirstCredentialsAnswerAsync(Iam4KubeUnderTest sut, Stopwatch started)
    {
        using var client = new HttpClient { BaseAddress = sut.MetadataUri, Timeout = TimeSpan.FromSeconds(30) };
        var last = "no answer yet";
        while (started.Elapsed < TimeSpan.FromMinutes(1))
        {
            if (sut.Process!.HasExited)
            {
                throw new InvalidOperationException($"iam4kube exited before answering.\n--- output ---\n{sut.Process.Output}");
            }

            try
            {
                using var response = await client.GetAsync(CredentialsPath);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return started.Elapsed;
                }

                last = $"{(int)response.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            await Task.Delay(2);
        }

        throw new TimeoutException($"iam4kube gave no credentials within a minute (last: {last}).\n--- output ---\n{sut.Process!.Output}");
    }

    /// <summary>"Some requests": the SDK's three-request flow and plain credentials GETs, 16 at a time, 2,000 in all.</summary>
    private static async Task SomeRequestsAsync(Iam4KubeUnderTest sut)
    {
        using var client = new HttpClient { BaseAddress = sut.MetadataUri, Timeout = TimeSpan.FromSeconds(30) };
        var left = FootprintRequests;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Add(ref left, -3) >= 0)
            {
                if (!await OneFlowAsync(client))
                {
                    throw new InvalidOperationException("an SDK flow failed after start-up");
                }
            }
        })));
        using var admin = sut.AdminClient();
        await PrometheusText.ScrapeAsync(admin);
    }

    /// <summary>
    /// Scenario 9 (opt-in, minutes): 100,000 pods and 10,000 roles, STS instant and unlimited; RSS, time to ready and
    /// watch-event throughput for another 10,000 pods. Runs the published build when given, else the built dll.
    /// </summary>
    private async Task RunLargeScaleAsync()
    {
        const string scenario = "9 large scale (100k pods, 10k roles)";
        var iam4kube = settings.PublishedIam4Kube ?? settings.Iam4KubeDll;
        Console.WriteLine($"[9] large scale: {LargeScalePods} pods, {LargeScaleRoles} ServiceAccounts with roles, {iam4kube}; then {LargeScalePods / 10} more pods");
        await using var sut = await Iam4KubeUnderTest.CreateAsync();
        for (var i = 0; i < LargeScaleRoles; i++)
        {
            sut.Api.Create(KubeObjects.ServiceAccount($"ns-{i % 100}", $"sa-{i}", KubeObjects.RoleArn($"role-{i}")));
        }

        AddLargeScalePods(sut, 0, LargeScalePods);

        var timeToReady = await sut.StartAsync(iam4kube, environment: settings.Iam4KubeEnvironment);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var synced = sut.Memory();
        using var admin = sut.AdminClient();
        var eventsBefore = PrometheusText.Value(await PrometheusText.ScrapeAsync(admin), "iam4kube_watch_events_total", "pods");
        var stopwatch = Stopwatch.StartNew();
        const int extra = LargeScalePods / 10;
        AddLargeScalePods(sut, LargeScalePods, LargeScalePods + extra);

        await WaitForPodEventsAsync(admin, eventsBefore + extra, stopwatch, TimeSpan.FromMinutes(5));
        var applied = stopwatch.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = sut.Memory();
        Console.WriteLine($"    ready in {timeToReady.TotalSeconds:0.00} s ({sut.Sts.Calls.Count} AssumeRole calls), RSS {Describe(synced)}; "
            + $"+{extra} pods applied after {applied.TotalSeconds:0.00} s, RSS {Describe(after)}");
        table.Add(scenario, "time to ready (process start → /readyz 200), STS unlimited", $"{Format.Num(timeToReady.TotalSeconds, "0.00")} s");
        table.Add(scenario, "RSS after sync (anon / file / shmem)", Describe(synced));
        table.Add(scenario, $"RSS after {extra} more pods (anon / file / shmem)", Describe(after));
        table.Add(scenario, "watch events/s end to end (fake API in the same CPUs; lower bound)", Format.Num(extra / applied.TotalSeconds));
    }

    /// <summary>Waits until iam4kube's pods watch counter reaches <paramref name="total"/>, at most <paramref name="timeout"/> after <paramref name="since"/> started.</summary>
    private static async Task WaitForPodEventsAsync(HttpClient admin, double total, Stopwatch since, TimeSpan timeout)
    {
        while (PrometheusText.Value(await PrometheusText.ScrapeAsync(admin), "iam4kube_watch_events_total", "pods") < total)
        {
            if (since.Elapsed > timeout)
            {
                throw new TimeoutException("iam4kube did not see the extra pods");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Pods <paramref name="from"/> to <paramref name="to"/> (exclusive) of scenario 9, spread over its roles and 100 namespaces.</summary>
    private static void AddLargeScalePods(Iam4KubeUnderTest sut, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            var sa = i % LargeScaleRoles;
            sut.Api.Create(KubeObjects.Pod($"ns-{sa % 100}", $"pod-{i}", PodIp(i), $"sa-{sa}"));
        }
    }
}
