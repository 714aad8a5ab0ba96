namespace Iam4Kube.Watching;

/// <summary>
/// How the informers keep their watches honest (docs/operations.md, "Staleness"). Production takes the defaults and
/// --watch-idle-timeout (iam4kube); tests shorten everything so a fault plays out in seconds.
/// </summary>
internal sealed record WatchSettings
{
    /// <summary>
    /// A watch that brings no event and no BOOKMARK for this long is ended and replaced. Watches ask the server to end
    /// them well before it (timeoutSeconds between half and three quarters of it), and kube-apiserver sends a BOOKMARK
    /// about 2 s before that end, so a healthy quiet watch is heard from at least that often.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Watches in a row that brought nothing (no event, no BOOKMARK) before the informer lists again.</summary>
    public int FruitlessWatchesBeforeRelist { get; init; } = 3;

    /// <summary>
    /// Spacing of relists and retries after answered errors in a row: the first after a healthy watch is at once (a
    /// 410 after compaction is normal), then from here, doubling (±20 % jitter)...
    /// </summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(800);

    /// <summary>...up to here, as client-go's reflector does.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// While the API server does not answer at all (connection refused, reset, unreachable) or answers 502/503, a
    /// retry costs it nothing: retry this often, so the view is fresh again within about this long of its return.
    /// </summary>
    public TimeSpan OutageRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A page of a list that takes longer is abandoned (a half-open pooled connection would otherwise hang it).</summary>
    public TimeSpan ListPageTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The server-side timeoutSeconds of a new watch: random between half and three quarters of the idle timeout.</summary>
    public int NextWatchTimeoutSeconds()
    {
        var idle = IdleTimeout.TotalSeconds;
        return Math.Max(1, (int)((idle * 0.5) + (Random.Shared.NextDouble() * idle * 0.25)));
    }
}
