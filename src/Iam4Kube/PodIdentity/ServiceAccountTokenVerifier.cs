using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Iam4Kube.Cluster;
using Iam4Kube.Observability;
using Iam4Kube.Outcomes;
using Iam4Kube.Watching;
using k8s;
using k8s.Models;

namespace Iam4Kube.PodIdentity;

/// <summary>
/// Says whose a ServiceAccount token is, authoritatively: a TokenReview for iam4kube's audience. Verdicts are cached
/// under the token's SHA-256 (the token itself is kept only while its review runs, and never logged) until the
/// token's expiry or <see cref="VerifiedFor"/>, whichever comes first, so that a token revoked by the API server
/// (its pod deleted) stops counting within minutes even if the pod index missed it. Concurrent first requests with
/// one token share one review. Floods of new tokens cost bounded work: reviews are rate- and concurrency-limited
/// (the rest get 429), and the cache holds at most <see cref="Capacity"/> verdicts (beyond that, verdicts are used
/// once and not kept).
/// </summary>
internal sealed partial class ServiceAccountTokenVerifier : IDisposable
{
    /// <summary>Longest accepted Authorization value; Kubernetes tokens are about 1 KiB.</summary>
    public const int MaxTokenLength = 8 * 1024;

    /// <summary>How long a verified token is believed without asking the API server again.</summary>
    public static readonly TimeSpan VerifiedFor = TimeSpan.FromMinutes(5);

    /// <summary>How long a refusal is remembered (a replayed bad token costs nothing for this long).</summary>
    public static readonly TimeSpan RefusedFor = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ReviewTimeout = TimeSpan.FromSeconds(10);
    private const string UsernamePrefix = "system:serviceaccount:";
    private const string PodNameKey = "authentication.kubernetes.io/pod-name";
    private const string PodUidKey = "authentication.kubernetes.io/pod-uid";

    private readonly ConcurrentDictionary<TokenKey, Entry> _cache = new();

    // The SHA-256 of a ~1 KiB token costs 1-3 µs, half of a warm request (bench/ scenario 7). Kestrel hands a
    // keep-alive connection's repeated header value back as the very string instance of the request before (it
    // compares the bytes and reuses the string), and a string never changes: the same instance has the same hash.
    // Keyed by reference and weakly, so no token is kept alive here; only verified tokens are remembered, so a flood
    // of random tokens adds nothing.
    private readonly ConditionalWeakTable<string, HashedToken> _hashed = new();
    private readonly Prometheus.Counter.Child _cachedVerdicts;
    private readonly KubernetesApi _client;
    private readonly string _audience;
    private readonly TimeProvider _time;
    private readonly Iam4KubeMetrics _metrics;
    private readonly ILogger<ServiceAccountTokenVerifier> _logger;
    private readonly TokenBucketRateLimiter _rate;
    private readonly ConcurrencyLimiter _concurrency;
    private readonly CancellationTokenSource _stopping = new();

    public ServiceAccountTokenVerifier(KubernetesApi client, string audience, double reviewsPerSecond, int burst, int capacity,
        TimeProvider time, Iam4KubeMetrics metrics, ILogger<ServiceAccountTokenVerifier> logger)
    {
        _client = client;
        _audience = audience;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        Capacity = capacity;
        _cachedVerdicts = metrics.TokenVerifications.WithLabels("cached");
        _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = Math.Max(1, (int)Math.Ceiling(reviewsPerSecond / 10)),
            ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, (int)Math.Ceiling(reviewsPerSecond / 10)) / reviewsPerSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        // A handful at once: the API server answers a review in milliseconds; more in flight only queues there.
        _concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = 8, QueueLimit = burst, QueueProcessingOrder = QueueProcessingOrder.OldestFirst });
    }

    /// <summary>Most verdicts kept at once.</summary>
    public int Capacity { get; }

    /// <summary>Verdicts kept now.</summary>
    public int CachedVerdicts => _cache.Count;

    public async ValueTask<TokenVerification> VerifyAsync(string token, CancellationToken aborted)
    {
        // A known token first: its verdict was reached on these very bytes (so the same claims), and an entry never
        // outlives the token's expiry; decoding the JWT again on every warm request cost a fifth of the door's
        // throughput (bench/ scenario 7).
        var hashed = _hashed.TryGetValue(token, out var known);
        var key = hashed ? known!.Key : TokenKey.Of(token);
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && cached.Until > now)
        {
            _cachedVerdicts.Inc();
            var verdict = await cached.Verdict.Task.WaitAsync(aborted);
            if (!hashed && verdict.Token is not null)
            {
                _hashed.TryAdd(token, new HashedToken(key));
            }

            return verdict;
        }

        // Free refusals next: what the API server would refuse anyway costs it nothing.
        if (!UnverifiedClaims.TryRead(token, _audience, out var claims))
        {
            return TokenVerification.Refused(Outcome.TokenInvalid, "the Authorization header is not a Kubernetes ServiceAccount token (a JWT)");
        }

        if (claims.Expires <= now)
        {
            return TokenVerification.Refused(Outcome.TokenExpired, $"the ServiceAccount token expired at {claims.Expires:u}");
        }

        if (!claims.HasAudience)
        {
            return TokenVerification.Refused(Outcome.TokenWrongAudience, $"the ServiceAccount token is not for the audience {_audience}");
        }

        if (!claims.BoundToPod)
        {
            return TokenVerification.Refused(Outcome.TokenInvalid, "the ServiceAccount token is not bound to a pod (use a projected token volume)");
        }

        if (cached is not null)
        {
            _cache.TryRemove(new KeyValuePair<TokenKey, Entry>(key, cached));
        }

        var fresh = new Entry(claims.Expires);
        var entry = fresh;
        var kept = false;
        if (_cache.Count < Capacity || Sweep(now))
        {
            entry = _cache.GetOrAdd(key, fresh);
            kept = ReferenceEquals(entry, fresh);
        }

        if (ReferenceEquals(entry, fresh))
        {
            // Not tied to this request: the others sharing the review must not see it cancelled by this client.
            _ = ReviewAsync(key, token, fresh, kept);
        }
        else
        {
            _cachedVerdicts.Inc();
        }

        return await entry.Verdict.Task.WaitAsync(aborted);
    }

    private async Task ReviewAsync(TokenKey key, string token, Entry entry, bool cached)
    {
        var verdict = await ReviewUncachedAsync(token, entry.Expires);
        var now = _time.GetUtcNow();
        var keep = verdict.Token is not null ? VerifiedFor
            : verdict.Outcome == Outcome.TokenReviewUnavailable || verdict.Outcome == Outcome.TokenReviewOverloaded ? TimeSpan.Zero
            : RefusedFor;
        entry.Until = Min(entry.Expires, now + keep);
        entry.Verdict.SetResult(verdict);
        _metrics.TokenVerifications.WithLabels(verdict.Token is not null ? "verified" : verdict.Outcome.Label).Inc();
        if (cached && keep == TimeSpan.Zero)
        {
            _cache.TryRemove(new KeyValuePair<TokenKey, Entry>(key, entry));
        }

        _metrics.TokenCacheEntries.Set(_cache.Count);
    }

    private async Task<TokenVerification> ReviewUncachedAsync(string token, DateTimeOffset expires)
    {
        using var rate = _rate.AttemptAcquire();
        if (!rate.IsAcquired)
        {
            return TokenVerification.Refused(Outcome.TokenReviewOverloaded, "too many new tokens to verify right now; retry");
        }

        using var slot = await _concurrency.AcquireAsync(cancellationToken: _stopping.Token);
        if (!slot.IsAcquired)
        {
            return TokenVerification.Refused(Outcome.TokenReviewOverloaded, "too many token verifications in progress; retry");
        }

        V1TokenReviewStatus? status;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(ReviewTimeout);
            var review = await _client.CreateTokenReviewAsync(new V1TokenReview
            {
                ApiVersion = "authentication.k8s.io/v1",
                Kind = "TokenReview",
                Spec = new V1TokenReviewSpec { Token = token, Audiences = [_audience] },
            }, timeout.Token);
            status = review?.Status;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Fail closed: an unverifiable token is not served. The message names the API error, never the token.
            Log.ReviewFailed(_logger, e.GetType().Name, e.Message);
            return TokenVerification.Refused(Outcome.TokenReviewUnavailable, "the API server could not verify the token (TokenReview failed); retry");
        }

        return Interpret(status, expires);
    }

    /// <summary>Reads a TokenReview's status; anything short of a complete, audience-aware, pod-bound answer is a refusal.</summary>
    private TokenVerification Interpret(V1TokenReviewStatus? status, DateTimeOffset expires)
    {
        if (status?.Authenticated != true)
        {
            var error = string.IsNullOrEmpty(status?.Error) ? "not authenticated" : status.Error;
            return TokenVerification.Refused(Outcome.TokenInvalid, $"the API server did not authenticate the token: {error}");
        }

        // An audience-unaware server returns no audiences: it checked its own, not ours.
        if (status.Audiences?.Contains(_audience, StringComparer.Ordinal) != true)
        {
            return TokenVerification.Refused(Outcome.TokenWrongAudience, $"the API server did not confirm the audience {_audience}");
        }

        var username = status.User?.Username ?? "";
        var parts = username.StartsWith(UsernamePrefix, StringComparison.Ordinal) ? username[UsernamePrefix.Length..].Split(':') : [];
        if (parts is not [{ Length: > 0 } ns, { Length: > 0 } serviceAccount]
            || Single(status.User!.Extra, PodNameKey) is not { } podName
            || Single(status.User.Extra, PodUidKey) is not { } podUid)
        {
            return TokenVerification.Refused(Outcome.TokenInvalid, $"the token of '{username}' is not a ServiceAccount token bound to a pod");
        }

        return TokenVerification.Verified(new VerifiedToken(ns, serviceAccount, podName, podUid, expires));
    }

    private static string? Single(IDictionary<string, IList<string>>? extra, string key) =>
        extra is not null && extra.TryGetValue(key, out var values) && values is [{ Length: > 0 } only] ? only : null;

    /// <summary>Drops expired verdicts; true when that made room.</summary>
    private bool Sweep(DateTimeOffset now)
    {
        foreach (var (key, entry) in _cache)
        {
            if (entry.Until <= now)
            {
                _cache.TryRemove(new KeyValuePair<TokenKey, Entry>(key, entry));
            }
        }

        _metrics.TokenCacheEntries.Set(_cache.Count);
        return _cache.Count < Capacity;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        _rate.Dispose();
        _concurrency.Dispose();
    }

    /// <summary>A verdict, pending or known; valid until <see cref="Until"/>.</summary>
    private sealed class Entry(DateTimeOffset expires)
    {
        public DateTimeOffset Expires { get; } = expires;

        // Until the review ends, the verdict is pending and shared.
        public DateTimeOffset Until { get; set; } = expires;

        public TaskCompletionSource<TokenVerification> Verdict { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A token string's <see cref="TokenKey"/>, remembered while that string lives.</summary>
    private sealed record HashedToken(TokenKey Key);

    /// <summary>The SHA-256 of a token: what the cache keeps instead of the token.</summary>
    private readonly record struct TokenKey(UInt128 High, UInt128 Low)
    {
        public static TokenKey Of(string token)
        {
            Span<byte> hash = stackalloc byte[32];
            var length = Encoding.UTF8.GetByteCount(token);
            var bytes = length <= 2048 ? stackalloc byte[length] : new byte[length];
            Encoding.UTF8.GetBytes(token, bytes);
            SHA256.HashData(bytes, hash);
            return new TokenKey(MemoryMarshal.Read<UInt128>(hash), MemoryMarshal.Read<UInt128>(hash[16..]));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "TokenReview failed ({Error}: {Message}); the token door refuses until the API server answers")]
        public static partial void ReviewFailed(ILogger logger, string error, string message);
    }
}
