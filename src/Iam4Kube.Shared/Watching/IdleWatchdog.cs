namespace Iam4Kube.Watching;

/// <summary>
/// Ends a watch that has been silent too long. Every event and every BOOKMARK is a heartbeat (<see cref="Beat"/>);
/// when none arrives within the idle timeout, <see cref="Token"/> is cancelled. A half-open connection (a NAT or load
/// balancer that forgot it: no FIN, no RST) and a stalled server look exactly like this, and nothing else notices.
/// </summary>
internal sealed class IdleWatchdog : IDisposable
{
    private readonly TimeSpan _idleTimeout;
    private readonly CancellationTokenSource _idle;
    private readonly CancellationTokenSource _linked;

    public IdleWatchdog(TimeSpan idleTimeout, TimeProvider time, CancellationToken stopping)
    {
        _idleTimeout = idleTimeout;
        _idle = new CancellationTokenSource(idleTimeout, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _idle.Token);
    }

    /// <summary>Cancelled when the watch went idle or the caller stopped.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the watch ended because it went idle (not because the caller stopped).</summary>
    public bool WentIdle => _idle.IsCancellationRequested;

    public void Beat()
    {
        if (!_idle.IsCancellationRequested)
        {
            // Re-arms the same timer: cheap enough for every event.
            _idle.CancelAfter(_idleTimeout);
        }
    }

    /// <summary>Ends the watch now (someone asked for a relist); it counts as neither idle nor failed.</summary>
    public void Expire()
    {
        try
        {
            _linked.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The watch already ended.
        }
    }

    public void Dispose()
    {
        _linked.Dispose();
        _idle.Dispose();
    }
}
