using System.Diagnostics;
using System.Net;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;

namespace Iam4Kube.Benchmarks;

internal sealed partial class BenchmarkRun
{
    private const int ScalePods = 10_000;
    private const int ScaleServiceAccounts = 2_000;

    /// <summary>
    /// Scenario 5: 10,000 pods, 2,000 annotated ServiceAccounts (each its own role), STS instant, no rate limit. STS is
    /// served over TLS with a test CA (iam4kube trusts it through SSL_CERT_FILE) and a new connection per call, the
    /// worst case for what 2,000 concurrent first fetches hold; one more round with plain HTTP keeps the older figure.
    /// </summary>
    private async Task RunScaleAsync()
    {
        Console.WriteLine($"[5] scale: {ScalePods} pods, {ScaleServiceAccounts} ServiceAccounts with roles, STS over TLS (new connection per call); then {ScalePods} more pods; {settings.ScaleRepetitions} reps");
        var ready = new List<double>();
        var rss = new List<double>();
        var rssPerExtra = new List<double>();
        var endToEnd = new List<double>();
        using var ca = TestCertificateAuthority.Create();
        for (var r = 0; r <= settings.ScaleRepetitions + 1; r++)
        {
            // The last two rounds are diagnostics: the same cluster with workstation GC instead of iam4kube's server GC,
            // to show how much of the RSS is GC policy (heap headroom) rather than data; and with STS over plain HTTP.
            var workstationGc = r == settings.ScaleRepetitions;
            var plainHttp = r == settings.ScaleRepetitions + 1;
            await using var sut = await Iam4KubeUnderTest.CreateAsync(plainHttp ? null : ca);
            sut.Sts.CloseConnections = !plainHttp;
            for (var i = 0; i < ScaleServiceAccounts; i++)
            {
                sut.Api.Create(KubeObjects.ServiceAccount($"ns-{i % 50}", $"sa-{i}", KubeObjects.RoleArn($"role-{i}")));
            }

            for (var i = 0; i < ScalePods; i++)
            {
                var sa = i % ScaleServiceAccounts;
                sut.Api.Create(KubeObjects.Pod($"ns-{sa % 50}", $"pod-{i}", PodIp(i), $"sa-{sa}"));
            }

            var environment = new Dictionary<string, string?>(settings.Iam4KubeEnvironment) { ["SSL_CERT_FILE"] = ca.CaFile };
            if (workstationGc)
            {
                environment["DOTNET_gcServer"] = "0";
            }

            var timeToReady = await sut.StartAsync(settings.Iam4KubeDll, environment: environment);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var memoryAfterSync = sut.Memory();
            var rssAfterSync = memoryAfterSync.RssMiB;

            using var admin = sut.AdminClient();
            var scrape = await PrometheusText.ScrapeAsync(admin);
            var eventsBefore = PrometheusText.Value(scrape, "iam4kube_watch_events_total", "pods");
            Console.WriteLine($"    after sync: RSS {Describe(memoryAfterSync)}, peak {memoryAfterSync.PeakMiB:0} MiB");
            var stopwatch = Stopwatch.StartNew();
            for (var i = ScalePods; i < 2 * ScalePods; i++)
            {
                var sa = i % ScaleServiceAccounts;
                sut.Api.Create(KubeObjects.Pod($"ns-{sa % 50}", $"pod-{i}", PodIp(i), $"sa-{sa}"));
            }

            var created = stopwatch.Elapsed;
            while (PrometheusText.Value(await PrometheusText.ScrapeAsync(admin), "iam4kube_watch_events_total", "pods") - eventsBefore < ScalePods)
            {
                if (stopwatch.Elapsed > TimeSpan.FromMinutes(2))
                {
                    throw new TimeoutException("iam4kube did not see the extra pods");
                }

                await Task.Delay(50);
            }

            var applied = stopwatch.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(2));
            var rssAfterExtra = sut.RssMiB();
            var connections = sut.Sts.ConnectionsAccepted;
            if (workstationGc)
            {
                Console.WriteLine($"    diagnostic, DOTNET_gcServer=0: RSS {rssAfterSync:0} MiB after sync, {rssAfterExtra:0} MiB with {ScalePods} more pods");
                table.Add("5 scale (10k pods, 2k SAs)", "diagnostic: RSS after sync / +10k pods with workstation GC (DOTNET_gcServer=0)", $"{Format.Num(rssAfterSync)} / {Format.Num(rssAfterExtra)} MiB");
                continue;
            }

            if (plainHttp)
            {
                Console.WriteLine($"    diagnostic, STS over plain HTTP (kept alive): RSS {rssAfterSync:0} MiB after sync, {rssAfterExtra:0} MiB with {ScalePods} more pods; {connections} connections");
                table.Add("5 scale (10k pods, 2k SAs)", "diagnostic: RSS after sync / +10k pods with STS over plain HTTP, kept alive", $"{Format.Num(rssAfterSync)} / {Format.Num(rssAfterExtra)} MiB");
                continue;
            }

            ready.Add(timeToReady.TotalSeconds);
            rss.Add(rssAfterSync);
            rssPerExtra.Add(rssAfterExtra - rssAfterSync);
            endToEnd.Add(ScalePods / applied.TotalSeconds);
            Console.WriteLine($"    rep {r + 1}: ready in {timeToReady.TotalSeconds:0.00} s ({sut.Sts.Calls.Count} AssumeRole calls over {connections} TLS connections), RSS {rssAfterSync:0} MiB, "
                + $"+{ScalePods} pods: created in {created.TotalSeconds:0.00} s, applied after {applied.TotalSeconds:0.00} s, RSS {rssAfterExtra:0} MiB");
        }

        var rssMedian = Stats.Median(rss);
        table.Add("5 scale (10k pods, 2k SAs)", "time to ready (process start → /readyz 200)", $"{Format.Num(Stats.Median(ready), "0.00")} s");
        table.Add("5 scale (10k pods, 2k SAs)", "RSS after sync (STS over TLS, new connection per call)", $"{Format.Num(rssMedian)} MiB", "<= 100 MiB (issue 15)", rssMedian <= 100);
        table.Add("5 scale (10k pods, 2k SAs)", "RSS per extra 10,000 pods", $"{Format.Num(Stats.Median(rssPerExtra))} MiB");
        table.Add("5 scale (10k pods, 2k SAs)", "watch events/s end to end (fake API in the same 2 CPUs; lower bound)", Format.Num(Stats.Median(endToEnd)));
    }

    private static string PodIp(int i) => $"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}";

    /// <summary>Scenario 5: PodIndex.Upsert of 100,000 pre-built pods (adds), then 100,000 changes (updates), in-process.</summary>
    private void RunIndexThroughput()
    {
        const int count = 100_000;
        var added = Enumerable.Range(0, count).Select(i => new PodInfo(new NamespacedName($"ns-{i % 50}", $"pod-{i}"), $"uid-{i}", "sa", "node-1", [IPAddress.Parse(PodIp(i))])).ToArray();
        var changed = added.Select(p => p with { NodeName = "node-2" }).ToArray();
        var adds = new List<double>();
        var updates = new List<double>();
        for (var r = 0; r < settings.Repetitions + 1; r++)
        {
            var index = new PodIndex();
            var stopwatch = Stopwatch.StartNew();
            foreach (var pod in added)
            {
                index.Upsert(pod);
            }

            var addSeconds = stopwatch.Elapsed.TotalSeconds;
            stopwatch.Restart();
            foreach (var pod in changed)
            {
                index.Upsert(pod);
            }

            var updateSeconds = stopwatch.Elapsed.TotalSeconds;
            if (r > 0)
            {
                // The first round warms the JIT up.
                adds.Add(count / addSeconds);
                updates.Add(count / updateSeconds);
            }
        }

        var addRate = Stats.Median(adds);
        table.Add("5 index throughput (in-process)", "PodIndex.Upsert adds/s (100k pods)", Format.Num(addRate), ">= 20,000 events/s", addRate >= 20_000);
        table.Add("5 index throughput (in-process)", "PodIndex.Upsert updates/s (100k pods)", Format.Num(Stats.Median(updates)), ">= 20,000 events/s", Stats.Median(updates) >= 20_000);
    }
}
