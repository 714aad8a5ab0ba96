using System.Diagnostics;
using System.Net;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Networking;
using k8s;
using k8s.Models;

namespace Iam4Kube.Benchmarks;

internal sealed partial class BenchmarkRun
{
    private const string TokenDoorPath = "/v1/credentials";
    private const string TokenAudience = "iam4kube.io/pod-identity";
    private const string TokenDoorHost = "169.254.170.23";

    /// <summary>
    /// Scenario 7 (issue 12): the token door. Warm: wrk with one verified token (verdict and credentials cached)
    /// against bare Kestrel answering the same body to the same headers, alternating. Cold: each request carries a
    /// token never seen before, so iam4kube makes one TokenReview; paired with a TokenReview the bench makes itself
    /// through the same fake API server just before, the difference is what iam4kube adds to the review's latency.
    /// </summary>
    private async Task RunTokenDoorAsync()
    {
        await using var sut = await Iam4KubeUnderTest.CreateAsync();
        sut.Api.Create(KubeObjects.ServiceAccount(Namespace, "token-app", KubeObjects.RoleArn(RoleName)));
        sut.Api.Create(KubeObjects.Pod(Namespace, "token-pod", "127.0.0.2", "token-app"));
        var door = new IPEndPoint(IPAddress.Loopback, FreePorts.Pick(IPAddress.Loopback));
        // The review budget out of the way: the cold part sends new tokens one after another, faster than 50/s.
        await sut.StartAsync(settings.Iam4KubeDll, extraArgs:
        [
            "--token-listen", door.ToString(), "--token-audience", TokenAudience,
            "--token-review-rate", "100000", "--token-review-burst", "100000",
        ]);
        var doorUri = new Uri($"http://{door}{TokenDoorPath}");
        var token = sut.Api.IssueServiceAccountToken(Namespace, "token-pod", [TokenAudience]);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var body = await GetFromTokenDoorAsync(client, doorUri, token);
        Console.WriteLine($"the token door answers with {body} bytes; the baseline answers the same size to the same headers");

        var (baseline, baselinePort) = await StartBaselineAsync(body, TokenDoorPath);
        await using (baseline)
        {
            await WarmTokenDoorAsync(new Uri($"http://127.0.0.1:{baselinePort}{TokenDoorPath}"), doorUri, token);
        }

        await FirstRequestWithNewTokensAsync(sut, client, doorUri);
    }

    /// <summary>Scenario 7's warm request without Kestrel or wrk: where its time and allocations go.</summary>
    private void RunTokenDoorBenchmarks()
    {
        Console.WriteLine("[7] token door, per request: BenchmarkDotNet, in-process, MemoryDiagnoser");
        RunBenchmarkDotNet<TokenDoorBenchmarks>("7 token door per request (BenchmarkDotNet)", _ => "");
    }

    private async Task WarmTokenDoorAsync(Uri baselineUri, Uri doorUri, string token)
    {
        const string group = "7 token door warm GET (wrk c32)";
        Console.WriteLine($"[7] token door, warm GET: wrk -t1 -c{WrkConnections} with Host and Authorization, {settings.Repetitions} x {settings.Duration.TotalSeconds} s each, alternating");
        string[] headers = [$"Host: {TokenDoorHost}", $"Authorization: {token}"];
        await WrkResult.RunAsync(baselineUri, 1, WrkConnections, TimeSpan.FromSeconds(2), headers);
        await WrkResult.RunAsync(doorUri, 1, WrkConnections, TimeSpan.FromSeconds(2), headers);
        var baselineRuns = new List<WrkResult>();
        var doorRuns = new List<WrkResult>();
        for (var r = 0; r < settings.Repetitions; r++)
        {
            baselineRuns.Add(await WrkResult.RunAsync(baselineUri, 1, WrkConnections, settings.Duration, headers));
            doorRuns.Add(await WrkResult.RunAsync(doorUri, 1, WrkConnections, settings.Duration, headers));
            Console.WriteLine($"    rep {r + 1}: baseline {baselineRuns[^1]}, token door {doorRuns[^1]}");
        }

        if (doorRuns.Sum(r => r.Errors) > 0)
        {
            throw new InvalidOperationException("the token door answered non-2xx under wrk");
        }

        var ratio = Stats.Median(baselineRuns.Zip(doorRuns, (b, d) => d.RequestsPerSecond / b.RequestsPerSecond));
        table.Add(group, "baseline req/s", Format.Num(Stats.Median(baselineRuns.Select(r => r.RequestsPerSecond))));
        table.Add(group, "token door req/s", Format.Num(Stats.Median(doorRuns.Select(r => r.RequestsPerSecond))));
        table.Add(group, "throughput ratio token door/baseline (median of paired reps)", Format.Ratio(ratio), ">= 0.85", ratio >= 0.85);
        table.Add(group, "p50 / p99 baseline", $"{Format.Ms(Stats.Median(baselineRuns.Select(r => r.P50Ms)))} / {Format.Ms(Stats.Median(baselineRuns.Select(r => r.P99Ms)))}");
        table.Add(group, "p50 / p99 token door", $"{Format.Ms(Stats.Median(doorRuns.Select(r => r.P50Ms)))} / {Format.Ms(Stats.Median(doorRuns.Select(r => r.P99Ms)))}");
    }

    private async Task FirstRequestWithNewTokensAsync(Iam4KubeUnderTest sut, HttpClient client, Uri doorUri)
    {
        const string group = "7 token door, new token";
        var count = settings.Quick ? 200 : 1000;
        Console.WriteLine($"[7] token door, first request with a new token: {count} pairs (a bench-side TokenReview, then a GET with another new token), one at a time");
        var api = sut.Api.CreateClient();
        var reviewed = Enumerable.Range(0, count + 20).Select(_ => sut.Api.IssueServiceAccountToken(Namespace, "token-pod", [TokenAudience])).ToArray();
        var sent = Enumerable.Range(0, count + 20).Select(_ => sut.Api.IssueServiceAccountToken(Namespace, "token-pod", [TokenAudience])).ToArray();
        var reviewMs = new double[count];
        var firstMs = new double[count];
        var againMs = new double[count];
        for (var i = 0; i < count + 20; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var review = await api.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview
            {
                Spec = new V1TokenReviewSpec { Token = reviewed[i], Audiences = [TokenAudience] },
            });
            var review1 = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (review.Status?.Authenticated != true)
            {
                throw new InvalidOperationException($"the bench's own TokenReview was refused: {review.Status?.Error}");
            }

            started = Stopwatch.GetTimestamp();
            await GetFromTokenDoorAsync(client, doorUri, sent[i]);
            var first = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            started = Stopwatch.GetTimestamp();
            await GetFromTokenDoorAsync(client, doorUri, sent[i]);
            var again = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            // The first 20 pairs warm up both clients' connections and code paths.
            if (i >= 20)
            {
                (reviewMs[i - 20], firstMs[i - 20], againMs[i - 20]) = (review1, first, again);
            }
        }

        var overhead = Stats.Median(firstMs.Zip(reviewMs, (f, r) => f - r));
        table.Add(group, "TokenReview round trip from the bench, p50 / p90", $"{Format.Ms(Percentile(reviewMs, 50))} / {Format.Ms(Percentile(reviewMs, 90))}");
        table.Add(group, "first GET with a new token (one TokenReview inside), p50 / p90", $"{Format.Ms(Percentile(firstMs, 50))} / {Format.Ms(Percentile(firstMs, 90))}");
        table.Add(group, "second GET with that token (verdict cached), p50", Format.Ms(Percentile(againMs, 50)));
        table.Add(group, "overhead beyond the review: median of (first GET - its paired review)", Format.Ms(overhead), "<= 1 ms", overhead <= 1);
        Console.WriteLine($"    TokenReviews seen by the fake API: {sut.Api.TokenReviewCount} (expected {2 * (count + 20) + 1}: the bench's, iam4kube's, the warm-up token's)");
    }

    private static double Percentile(double[] values, double p) => Stats.Percentile([.. values.Order()], p);

    /// <summary>One GET as an SDK sends it (Host 169.254.170.23, the raw token as Authorization); the body's length.</summary>
    private static async Task<int> GetFromTokenDoorAsync(HttpClient client, Uri doorUri, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, doorUri);
        request.Headers.Host = TokenDoorHost;
        request.Headers.TryAddWithoutValidation("Authorization", token);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode == HttpStatusCode.OK
            ? body.Length
            : throw new InvalidOperationException($"the token door answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
    }
}
