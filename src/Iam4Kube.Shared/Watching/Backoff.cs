namespace Iam4Kube.Watching;

/// <summary>
/// The one backoff of both binaries. As an instance: exponential backoff with ±20 % jitter, so that many replicas (or the DaemonSet's pods on every node) do not retry
/// the API server in step. <see cref="Reset"/> after a healthy period starts again from the initial delay.
/// Not thread-safe.
/// </summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan maximum)
{
    private readonly TimeSpan _initial = initial;
    private TimeSpan _next = initial;

    /// <summary>The delay before the attempt after the one that just failed (the delays double up to the maximum).</summary>
    public TimeSpan Next()
    {
        var current = _next;
        _next = TimeSpan.FromTicks(Math.Min(maximum.Ticks, _next.Ticks * 2));
        return current * (0.8 + (Random.Shared.NextDouble() * 0.4));
    }

    public void Reset() => _next = _initial;

    /// <summary>
    /// Stateless, for callers that count attempts themselves (the credentials loop keeps a failure count per role):
    /// the ceiling doubles from <paramref name="initial"/> per attempt up to <paramref name="maximum"/>, and the
    /// delay is drawn from its upper half ("equal jitter"), <paramref name="random"/> in [0, 1].
    /// </summary>
    public static TimeSpan Exponential(TimeSpan initial, TimeSpan maximum, int attempt, double random)
    {
        var ceiling = Math.Min(maximum.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 20)));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (ceiling / 2 * Math.Clamp(random, 0, 1)));
    }
}
