namespace Iam4Kube.Credentials;

/// <summary>
/// Exponential backoff with jitter for STS failures. Transient failures (throttling, 5xx, timeouts) retry from
/// one second up to five minutes; permanent ones (the role does not trust us) from one minute up to thirty, so a
/// fixed trust policy is picked up without a hot loop against STS.
/// </summary>
internal static class RetryBackoff
{
    private static readonly TimeSpan TransientBase = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TransientMax = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PermanentBase = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan PermanentMax = TimeSpan.FromMinutes(30);

    public static TimeSpan For(int attempt, bool permanent, double random)
    {
        var (baseDelay, max) = permanent ? (PermanentBase, PermanentMax) : (TransientBase, TransientMax);
        var ceiling = Math.Min(max.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 20)));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (ceiling / 2 * Math.Clamp(random, 0, 1)));
    }
}
