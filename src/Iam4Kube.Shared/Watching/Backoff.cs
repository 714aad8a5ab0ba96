namespace Iam4Kube.Watching;

/// <summary>
/// Exponential backoff with ±20 % jitter, so that many replicas (or the DaemonSet's pods on every node) do not retry
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
}
