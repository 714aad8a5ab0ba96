using Iam4Kube.Watching;

namespace Iam4Kube.Credentials;

/// <summary>
/// The presets of <see cref="Backoff"/> for STS failures. Transient failures (throttling, 5xx, timeouts) retry from
/// one second up to five minutes; permanent ones (the role does not trust us) from one minute up to thirty, so a
/// fixed trust policy is picked up without a hot loop against STS.
/// </summary>
internal static class RetryBackoff
{
    private static readonly TimeSpan TransientBase = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TransientMax = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan PermanentBase = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan PermanentMax = TimeSpan.FromMinutes(30);

    public static TimeSpan For(int attempt, bool permanent, double random) => permanent
        ? Backoff.Exponential(PermanentBase, PermanentMax, attempt, random)
        : Backoff.Exponential(TransientBase, TransientMax, attempt, random);
}
