using Iam4Kube.Watching;

namespace Iam4Kube.Credentials;

/// <summary>
/// The presets of <see cref="Backoff"/> for STS failures. Transient failures (throttling, 5xx, timeouts) retry from
/// one second up to five minutes; permanent ones (the role does not trust us) from one minute up to thirty, so a
/// fixed trust policy is picked up without a hot loop against STS. Short-lived credentials space the next call
/// too (<see cref="ShortCredentials"/>).
/// </summary>
internal static class RetryBackoff
{
    private static readonly TimeSpan TransientBase = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TransientMax = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PermanentBase = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan PermanentMax = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan ShortBase = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ShortMax = TimeSpan.FromMinutes(5);

    public static TimeSpan For(int attempt, bool permanent, double random) => permanent
        ? Backoff.Exponential(PermanentBase, PermanentMax, attempt, random)
        : Backoff.Exponential(TransientBase, TransientMax, attempt, random);

    /// <summary>
    /// The least time before asking STS again after the <paramref name="streak"/>-th short-lived credentials in a
    /// row: 30-60 s, doubling up to 5 minutes. STS would hand the same short life back, so at most two AssumeRole
    /// calls per role and minute, then fewer, whatever requests ask for.
    /// </summary>
    public static TimeSpan ShortCredentials(int streak, double random) => Backoff.Exponential(ShortBase, ShortMax, streak, random);
}
