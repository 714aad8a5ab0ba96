using Iam4Kube.Credentials;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;

namespace Iam4Kube.Benchmarks;

internal sealed partial class BenchmarkRun
{
    private const int BurstServiceAccounts = 500;
    private const double StsRate = 25;
    private const int StsBurst = 25;
    private const double CpuStsRate = 200;
    private const int CpuStsBurst = 20;
    private const double CpuPerCallTargetMs = 2;

    /// <summary>Scenario 6: 500 annotated ServiceAccounts appear at once; AssumeRole calls per 1 s window, from FakeSts's own timestamps.</summary>
    private async Task RunStsDisciplineAsync()
    {
        var reps = settings.Quick ? 1 : 3;
        Console.WriteLine($"[6] STS discipline: {BurstServiceAccounts} ServiceAccounts at once, --sts-rate {StsRate} --sts-burst {StsBurst}; {reps} reps");
        var maxima = new List<double>();
        var steadyMaxima = new List<double>();
        var firstWindow = new List<double>();
        var sustained = new List<double>();
        // Round -1 is a warm-up and is not counted: FakeSts stamps a call when its handler runs, and on the first use of
        // WireMock in this process (JIT, presumably) the first second of calls got stamped bunched together (68-77 in the
        // first 1 s of the first round, 51 in every later one, each against a fresh iam4kube process).
        for (var r = -1; r < reps; r++)
        {
            await using var sut = await Iam4KubeUnderTest.CreateAsync();
            await sut.StartAsync(settings.Iam4KubeDll, StsRate, StsBurst);
            for (var i = 0; i < BurstServiceAccounts; i++)
            {
                sut.Api.Create(KubeObjects.ServiceAccount($"ns-{i % 20}", $"burst-{i}", KubeObjects.RoleArn($"burst-{i}")));
            }

            await sut.Sts.WaitForCallsAsync(BurstServiceAccounts, TimeSpan.FromMinutes(3));
            var calls = sut.Sts.Calls;
            var max = Stats.MaxInWindow(calls.Select(c => c.At), TimeSpan.FromSeconds(1));
            var span = calls[^1].At - calls[0].At;
            maxima.Add(max);
            // Split the worst case: the first 2 s (the fresh process's STS client makes its first calls) and after.
            steadyMaxima.Add(Stats.MaxInWindow(calls.Where(c => c.At >= calls[0].At + TimeSpan.FromSeconds(2)).Select(c => c.At), TimeSpan.FromSeconds(1)));
            firstWindow.Add(calls.Count(c => c.At < calls[0].At + TimeSpan.FromSeconds(1)));
            if (r < 0)
            {
                Console.WriteLine($"    warm-up round (not counted): max in any 1 s window {max}");
                maxima.Clear();
                steadyMaxima.Clear();
                firstWindow.Clear();
                continue;
            }

            sustained.Add((calls.Count - StsBurst) / span.TotalSeconds);
            Console.WriteLine($"    rep {r + 1}: {calls.Count} calls over {span.TotalSeconds:0.0} s, max in any 1 s window {max} (first 1 s: {firstWindow[^1]}; after the first 2 s: {steadyMaxima[^1]}), sustained {sustained[^1]:0.0}/s");
        }

        var worst = maxima.Max();
        table.Add("6 STS discipline (500 SAs at once)", $"max AssumeRole calls in any 1 s window (worst of {reps})", Format.Num(worst), $"<= rate+burst = {StsRate + StsBurst}", worst <= StsRate + StsBurst);
        table.Add("6 STS discipline (500 SAs at once)", $"same, only calls after the first 2 s (worst of {reps})", Format.Num(steadyMaxima.Max()), $"<= {StsRate + StsBurst}", steadyMaxima.Max() <= StsRate + StsBurst);
        table.Add("6 STS discipline (500 SAs at once)", "calls in the first 1 s (median)", Format.Num(Stats.Median(firstWindow)));
        table.Add("6 STS discipline (500 SAs at once)", "sustained calls/s after the burst", Format.Num(Stats.Median(sustained), "0.0"), $"~{StsRate}");
    }

    /// <summary>
    /// Scenario 6: iam4kube's CPU time per AssumeRole with STS behind TLS (a test CA it trusts through SSL_CERT_FILE, as
    /// a user would trust a private CA), first with connections kept alive (as real STS does), then with a new
    /// connection, so a full TLS handshake, for every call (the worst case). Each call is the first fetch of a new
    /// ServiceAccount's role: the figure is iam4kube's whole CPU (user + system, /proc/PID/stat) for those calls,
    /// divided by the calls, so it includes the watch event that asked for the role and the bookkeeping after it.
    /// Load-independent: CPU time, not wall time.
    /// </summary>
    private async Task RunStsCpuAsync()
    {
        var calls = settings.Quick ? 600 : 2_000;
        Console.WriteLine($"[6] CPU per AssumeRole over TLS: {calls} first fetches per mode, --sts-rate {CpuStsRate} --sts-burst {CpuStsBurst}; load {File.ReadAllText("/proc/loadavg").Trim()}");
        using var ca = TestCertificateAuthority.Create();
        await using var sut = await Iam4KubeUnderTest.CreateAsync(ca);
        await sut.StartAsync(settings.Iam4KubeDll, CpuStsRate, CpuStsBurst, environment: new Dictionary<string, string?> { ["SSL_CERT_FILE"] = ca.CaFile });
        using var admin = sut.AdminClient();
        var next = 0;

        // Warm-up (not counted): JIT, the first handshakes, the SDK's first calls; both modes.
        sut.Sts.CloseConnections = true;
        await FirstFetchesAsync(sut, admin, next, 100);
        sut.Sts.CloseConnections = false;
        await FirstFetchesAsync(sut, admin, next += 100, 100);
        next += 100;

        // The part of each figure that is not the STS call: the watch event of a new ServiceAccount (here one without a
        // role, so no call), measured the same way.
        var watchEvents = PrometheusText.Value(await PrometheusText.ScrapeAsync(admin), "iam4kube_watch_events_total", "serviceaccounts");
        var before = sut.CpuTime();
        for (var i = 0; i < calls; i++)
        {
            sut.Api.Create(KubeObjects.ServiceAccount($"cpu-{i % 20}", $"plain-{i}"));
        }

        await WaitForCounterAsync(admin, "iam4kube_watch_events_total", "serviceaccounts", watchEvents + calls);
        var msPerEvent = (sut.CpuTime() - before).TotalMilliseconds / calls;
        Console.WriteLine($"    control: {msPerEvent:0.00} ms CPU per ServiceAccount without a role (watch event only, no STS call)");
        table.Add("6 STS over TLS (CPU per AssumeRole)", "of which not STS: CPU per new ServiceAccount without a role (watch event, no call)", $"{msPerEvent:0.00} ms");

        foreach (var (mode, close) in new[] { ("keep-alive", false), ("new connection per call", true) })
        {
            sut.Sts.CloseConnections = close;
            var connectionsBefore = sut.Sts.ConnectionsAccepted;
            var cpu = await FirstFetchesAsync(sut, admin, next, calls);
            next += calls;
            var connections = sut.Sts.ConnectionsAccepted - connectionsBefore;
            var msPerCall = cpu.TotalMilliseconds / calls;
            Console.WriteLine($"    {mode}: {cpu.TotalMilliseconds:0} ms CPU for {calls} calls = {msPerCall:0.00} ms/call; {connections} connections accepted by STS; load {File.ReadAllText("/proc/loadavg").Trim()}");
            table.Add("6 STS over TLS (CPU per AssumeRole)", $"iam4kube CPU per AssumeRole, {mode} ({calls} calls)", $"{msPerCall:0.00} ms", $"<= {CpuPerCallTargetMs} ms", msPerCall <= CpuPerCallTargetMs);
            table.Add("6 STS over TLS (CPU per AssumeRole)", $"connections STS accepted for them, {mode}", Format.Num(connections));
        }
    }

    /// <summary>Creates <paramref name="count"/> ServiceAccounts with new roles, waits until iam4kube has counted every answer; iam4kube's CPU time meanwhile.</summary>
    private static async Task<TimeSpan> FirstFetchesAsync(Iam4KubeUnderTest sut, HttpClient admin, int first, int count)
    {
        var expected = sut.Sts.Calls.Count + count;
        var before = sut.CpuTime();
        for (var i = first; i < first + count; i++)
        {
            sut.Api.Create(KubeObjects.ServiceAccount($"cpu-{i % 20}", $"cpu-{i}", KubeObjects.RoleArn($"cpu-{i}")));
        }

        await sut.Sts.WaitForCallsAsync(expected, TimeSpan.FromMinutes(3));
        await WaitForCounterAsync(admin, "iam4kube_sts_calls_total", "success", expected);
        return sut.CpuTime() - before;
    }

    private static async Task WaitForCounterAsync(HttpClient admin, string name, string labelFilter, double atLeast)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (PrometheusText.Value(await PrometheusText.ScrapeAsync(admin), name, labelFilter) < atLeast)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"iam4kube's {name}{{{labelFilter}}} did not reach {atLeast}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Scenario 6: when 2,000 entries are fetched at the same instant, when are they refreshed? CredentialRefresher
    /// schedules each at FreshnessPolicy.RefreshAt(credentials, now, Random.Shared.NextDouble()); this draws the
    /// same way for 2,000 one-hour credentials and measures how they spread.
    /// </summary>
    private void RunRefreshSpread()
    {
        const int entries = 2_000;
        var policy = new FreshnessPolicy(TimeSpan.FromHours(1));
        var now = DateTimeOffset.UtcNow;
        var credentials = new RoleCredentials("ASIA", "secret", "token", now + TimeSpan.FromHours(1), now);
        var refreshes = Enumerable.Range(0, entries).Select(_ => policy.RefreshAt(credentials, now, Random.Shared.NextDouble())).ToArray();
        var first = refreshes.Min() - now;
        var last = refreshes.Max() - now;
        var max1s = Stats.MaxInWindow(refreshes, TimeSpan.FromSeconds(1));
        var max10s = Stats.MaxInWindow(refreshes, TimeSpan.FromSeconds(10));
        var uniformPerSecond = entries / (last - first).TotalSeconds;
        table.Add("6 refresh spread (2,000 entries fetched together)", "refresh window", $"{first.TotalMinutes:0.0}–{last.TotalMinutes:0.0} min after fetch");
        table.Add("6 refresh spread (2,000 entries fetched together)", "max refreshes in any 1 s / 10 s window", $"{max1s} / {max10s} (uniform mean {uniformPerSecond:0.0} / {uniformPerSecond * 10:0})", "no herd", max1s <= 4 * Math.Ceiling(uniformPerSecond) + 4);
    }
}
