using System.Globalization;
using System.Text;
using Iam4Kube.Metadata;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing;
using Iam4Kube.Waiting;
using Xunit.Abstractions;
using static Iam4Kube.Tests.Hardening.HostileCluster;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// Thousands of random requests (methods, paths from a grammar of allowed and hostile segments and encodings,
/// headers, tokens of other IPs) from random pod IPs: some own pods with roles, some pods without, some no pod.
/// Seeded and reproducible: IAM4KUBE_FUZZ_SEED and IAM4KUBE_FUZZ_REQUESTS override the defaults.
/// </summary>
/// <remarks>
/// Not run in parallel with other tests: the heap check compares the whole process's managed heap between two
/// rounds, and another test's host allocating meanwhile (the full run measured +447 MB that were not ours) would be
/// counted against iam4kube.
/// </remarks>
[Collection(EndToEnd.EndToEndGroup.Name)]
public sealed class MetadataFuzzTests(MetadataFuzzTests.FuzzCluster cluster, ITestOutputHelper output) : IClassFixture<MetadataFuzzTests.FuzzCluster>
{
    private const int DefaultSeed = 20261123;
    private const int DefaultRequests = 10000;
    private const int Workers = 8;

    private static readonly string[] RoleNames = ["role-alpha", "role-bravo", "role-charlie", "role-delta"];

    // IPs 127.0.44.1-6 own pods with roles (two share role-alpha), 7-9 own pods without a role, 10-14 no pod.
    private static readonly string[] Ips = [.. Enumerable.Range(1, 14).Select(i => $"127.0.44.{i}")];

    private static readonly string[] Segments =
    [
        "latest", "meta-data", "iam", "security-credentials", "security-credentials-extended", "info", "placement", "region", "availability-zone",
        "dynamic", "instance-identity", "document", "api", "token", "user-data", "instance-id", "2009-04-04",
        "..", ".", "%2e%2e", "%2E%2e", "..;", "%2f", "%2F..%2F", "", "%00", "%ff%fe", "%c3%a9", "\xc3\xa9", "%",
        "role-alpha", "role-bravo", "role-charlie", "role-delta", "ROLE-ALPHA", "*", "~", "%20", "+", ";x=1",
        "victim-role", "attacker-role",
    ];

    private static readonly string[] AllowedPaths =
    [
        "/latest/api/token",
        "/latest/meta-data/iam/security-credentials/",
        "/latest/meta-data/iam/security-credentials/role-alpha",
        "/latest/meta-data/iam/security-credentials/role-bravo",
        "/latest/meta-data/iam/security-credentials/role-charlie",
        "/latest/meta-data/iam/security-credentials-extended/role-alpha",
        "/latest/meta-data/iam/info",
        "/latest/meta-data/placement/region",
        "/latest/meta-data/placement/availability-zone",
        "/latest/dynamic/instance-identity/document",
    ];

    private static readonly string[] Methods = ["GET", "GET", "GET", "GET", "GET", "PUT", "PUT", "HEAD", "POST", "DELETE", "OPTIONS", "TRACE", "PATCH", "get", "put", "GeT"];

    [Fact]
    public async Task RandomRequestsFromRandomPodIpsKeepEveryInvariant()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("IAM4KUBE_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : DefaultSeed;
        var requests = int.TryParse(Environment.GetEnvironmentVariable("IAM4KUBE_FUZZ_REQUESTS"), CultureInfo.InvariantCulture, out var n) ? n : DefaultRequests;
        output.WriteLine($"fuzz seed {seed}, {requests} requests (IAM4KUBE_FUZZ_SEED / IAM4KUBE_FUZZ_REQUESTS to change)");

        var tokens = new Dictionary<string, string>();
        foreach (var ip in Ips)
        {
            var put = await RawHttp.SendAsync(ip, cluster.Metadata, RawHttp.Request("PUT", "/latest/api/token", $"{MetadataApi.TokenTtlHeader}: 300"));
            Assert.Equal(200, put.Status);
            tokens[ip] = put.Body;
        }

        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var credentialsServed = 0;
        var perWorker = requests / Workers / 2;

        // Two rounds: the first warms pools and caches up; the second must not grow the heap much further.
        async Task RoundAsync(int round) => await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            var random = new Random(HashCode.Combine(seed, round, worker));
            for (var i = 0; i < perWorker; i++)
            {
                var ip = Ips[random.Next(Ips.Length)];
                var own = cluster.RoleOf.TryGetValue(ip, out var arn) ? arn[(arn.LastIndexOf('/') + 1)..] : RoleNames[0];
                var request = RandomRequest(random, tokens, own);
                RawResponse response;
                try
                {
                    response = await RawHttp.SendAsync(ip, cluster.Metadata, Encoding.Latin1.GetBytes(request), TimeSpan.FromSeconds(15));
                    cluster.AssertSafe(response, ip, request);
                    AssertNamesNoOtherRole(response, ip, request);
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"fuzz seed {seed}, round {round}, worker {worker}, request {i} from {ip}: {Printable(request)}: {e.Message}", e);
                }

                statuses.AddOrUpdate(response.Status, 1, (_, c) => c + 1);
                if (response.Body.Contains("SecretAccessKey", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref credentialsServed);
                }
            }
        })));

        long heapAfterFirst, heapAfterSecond, logAfterFirst, logAfterSecond;
        try
        {
            await RoundAsync(0);
            (heapAfterFirst, logAfterFirst) = (GC.GetTotalMemory(forceFullCollection: true), cluster.Host.LogText.Length);
            await RoundAsync(1);
            (heapAfterSecond, logAfterSecond) = (GC.GetTotalMemory(forceFullCollection: true), cluster.Host.LogText.Length);
        }
        finally
        {
            output.WriteLine("statuses: " + string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}×{p.Value}")));
            output.WriteLine($"credentials served: {credentialsServed}, STS calls: {cluster.Host.Sts.Calls.Count}");
        }

        // The test host keeps every log line in memory (UTF-16 chunks, Kestrel's debug lines included): that growth
        // is the test's own, not iam4kube's.
        var logBytes = (logAfterSecond - logAfterFirst) * 2;
        var growth = heapAfterSecond - heapAfterFirst - logBytes;
        output.WriteLine($"managed heap after round 1: {heapAfterFirst / 1024 / 1024} MB, after round 2: {heapAfterSecond / 1024 / 1024} MB; captured log grew {logBytes / 1024 / 1024} MB");
        Assert.True(growth < 32L * 1024 * 1024, $"managed heap grew by {growth / 1024 / 1024} MB over {perWorker * Workers} requests beyond the captured log (seed {seed})");

        // The host is alive, nothing stays parked, and memory did not grow with the number of requests.
        await cluster.AssertStillServingAsync();
        Assert.Equal(0, cluster.Host.Service<ParkedRequestBudget>().Parked);
        Assert.True(credentialsServed > requests / 40, $"only {credentialsServed} credentials served: the grammar hardly reaches the allowed paths");
        var roles = cluster.RoleOf.Values.Distinct().Count();
        Assert.True(cluster.Host.Sts.Calls.Count <= roles * 2, $"{cluster.Host.Sts.Calls.Count} STS calls for {roles} roles");
    }

    /// <summary>A 200 never names a role other than the caller's own (role listing, iam/info, credentials).</summary>
    private void AssertNamesNoOtherRole(RawResponse response, string ip, string request)
    {
        if (response.Status != 200)
        {
            return;
        }

        var own = cluster.RoleOf.TryGetValue(ip, out var arn) ? arn[(arn.LastIndexOf('/') + 1)..] : null;
        foreach (var name in RoleNames.Append("victim-role").Append("attacker-role"))
        {
            Assert.True(name == own || !response.Body.Contains(name, StringComparison.Ordinal),
                $"{ip} (role {own ?? "none"}) got a 200 naming {name} for {Printable(request)}");
        }
    }

    private static string RandomRequest(Random random, Dictionary<string, string> tokens, string ownRole)
    {
        var method = random.Next(3) == 0 ? "GET" : Methods[random.Next(Methods.Length)];
        var target = random.Next(4) switch
        {
            // A third of the requests ask for some role's credentials: the invariant that matters most.
            0 when method == "GET" => "/latest/meta-data/iam/security-credentials/" + (random.Next(2) == 0 ? ownRole : RoleNames[random.Next(RoleNames.Length)]),
            0 or 1 => AllowedPaths[random.Next(AllowedPaths.Length)],
            2 => Mutate(random, AllowedPaths[random.Next(AllowedPaths.Length)]),
            _ => "/" + string.Join(random.Next(5) == 0 ? "//" : "/", Enumerable.Range(0, random.Next(1, 8)).Select(_ => Segments[random.Next(Segments.Length)])),
        };
        if (random.Next(6) == 0)
        {
            target += "?" + Segments[random.Next(Segments.Length)] + "=" + Segments[random.Next(Segments.Length)];
        }

        var headers = new List<string>();
        switch (random.Next(10))
        {
            case 0:
                headers.Add($"{MetadataApi.TokenHeader}: {tokens.ElementAt(random.Next(tokens.Count)).Value}");
                break;
            case 1:
                headers.Add($"{MetadataApi.TokenHeader}: {RandomText(random, random.Next(1, 80))}");
                break;
            case 2:
                var token = tokens.ElementAt(random.Next(tokens.Count)).Value;
                headers.Add($"{MetadataApi.TokenHeader}: {token}");
                headers.Add($"{MetadataApi.TokenHeader}: {token}");
                break;
        }

        if (random.Next(2) == 0)
        {
            headers.Add($"{MetadataApi.TokenTtlHeader}: {random.Next(4) switch { 0 => "21600", 1 => "0", 2 => "-1", _ => random.Next(100000).ToString(CultureInfo.InvariantCulture) }}");
        }

        if (random.Next(8) == 0)
        {
            headers.Add(random.Next(2) == 0 ? $"X-Forwarded-For: {Ips[random.Next(Ips.Length)]}" : $"Forwarded: for={Ips[random.Next(Ips.Length)]}");
        }

        if (random.Next(20) == 0)
        {
            headers.Add("X-Padding: " + new string('p', random.Next(100, 20000)));
        }

        return RawHttp.Request(method, target, [.. headers]);
    }

    private static string Mutate(Random random, string path)
    {
        var segments = path.Split('/').ToList();
        var at = random.Next(1, segments.Count + 1);
        switch (random.Next(4))
        {
            case 0:
                segments.Insert(at, Segments[random.Next(Segments.Length)]);
                break;
            case 1 when at < segments.Count:
                segments[at] = Segments[random.Next(Segments.Length)];
                break;
            case 2 when at < segments.Count && segments[at].Length > 0:
                var s = segments[at];
                var i = random.Next(s.Length);
                segments[at] = s[..i] + "%" + ((int)s[i]).ToString("x2", CultureInfo.InvariantCulture) + s[(i + 1)..];
                break;
            default:
                segments.Add(random.Next(2) == 0 ? "" : "..");
                break;
        }

        return string.Join('/', segments);
    }

    private static string RandomText(Random random, int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.%";
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[r.Next(alphabet.Length)];
            }
        });
    }

    public sealed class FuzzCluster : HostileCluster
    {
        public FuzzCluster()
            : base(TimeSpan.FromMilliseconds(150))
        {
        }

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            AddPod("127.0.44.1", "alpha-1", KubeObjects.RoleArn("role-alpha"));
            AddPod("127.0.44.2", "alpha-2", KubeObjects.RoleArn("role-alpha"));
            AddPod("127.0.44.3", "bravo", KubeObjects.RoleArn("role-bravo"));
            AddPod("127.0.44.4", "charlie", KubeObjects.RoleArn("role-charlie"));
            AddPod("127.0.44.5", "delta", KubeObjects.RoleArn("role-delta"));
            AddPod("127.0.44.6", "delta-ext", KubeObjects.RoleArn("role-delta", account: "210987654321"));
            AddPod("127.0.44.7", "none-1", null);
            AddPod("127.0.44.8", "none-2", null);
            AddPod("127.0.44.9", "none-3", null);
            foreach (var (ip, arn) in RoleOf)
            {
                using var client = Host.ClientFrom(ip);
                await Eventually.TrueAsync(async () => (await client.GetAsync("/latest/meta-data/iam/security-credentials/" + arn[(arn.LastIndexOf('/') + 1)..])).IsSuccessStatusCode,
                    TimeSpan.FromSeconds(20), $"{ip} never got the credentials of {arn}");
            }
        }
    }
}
