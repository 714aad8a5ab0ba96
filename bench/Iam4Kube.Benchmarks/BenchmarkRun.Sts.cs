using Iam4Kube.Credentials;
using Iam4Kube.Testing.Builders;

namespace Iam4Kube.Benchmarks;

internal sealed partial class BenchmarkRun
{
    private const int BurstServiceAccounts = 500;
    private const double StsRate = 25;
    private const int StsBurst = 25;

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
