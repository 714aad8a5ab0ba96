namespace Ip2Service.Endpoints;

/// <summary>Exponential backoff with ±20 % jitter, so that the DaemonSet's pods on every node do not retry the API
/// server in step. Not thread-safe.</summary>
internal sealed class Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _maximum;
    private TimeSpan _next;

    public Backoff(TimeSpan initial, TimeSpan maximum)
    {
        _initial = initial;
        _maximum = maximum;
        _next = initial;
    }

    public TimeSpan Next()
    {
        var current = _next;
        _next = TimeSpan.FromTicks(Math.Min(_maximum.Ticks, _next.Ticks * 2));
        return current * (0.8 + (Random.Shared.NextDouble() * 0.4));
    }

    public void Reset() => _next = _initial;
}
