using System.Threading.RateLimiting;

namespace Iam4Kube.Credentials;

/// <summary>
/// A token bucket in front of every STS call: at most <c>burst</c> calls at once, then <c>rate</c> per second, so a
/// start-up with many ServiceAccounts or a refresh wave never trips STS throttling for the whole account.
/// </summary>
internal sealed class StsRateLimiter : IAsyncDisposable
{
    private readonly TokenBucketRateLimiter _limiter;

    public StsRateLimiter(double ratePerSecond, int burst)
    {
        // The bucket adds whole tokens per period: one token every 1/rate seconds, or for high rates (benchmarks)
        // several tokens every 10 ms, which keeps the replenishment timer cheap.
        var (period, tokens) = ratePerSecond >= 100
            ? (TimeSpan.FromMilliseconds(10), Math.Max(1, (int)Math.Round(ratePerSecond / 100)))
            : (TimeSpan.FromSeconds(1 / ratePerSecond), 1);
        _limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    /// <summary>Waits for a permit; the returned lease must be disposed.</summary>
    public async ValueTask<RateLimitLease> AcquireAsync(CancellationToken cancellationToken) =>
        await _limiter.AcquireAsync(1, cancellationToken);

    public ValueTask DisposeAsync() => _limiter.DisposeAsync();
}
