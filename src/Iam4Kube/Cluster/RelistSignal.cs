using Iam4Kube.Watching;

namespace Iam4Kube.Cluster;

/// <summary>
/// A request for a full list, raised by a store that saw evidence of a missed event. The informer consumes it:
/// it ends the current watch and lists again. Requests made while one is pending coalesce.
/// </summary>
internal sealed class RelistSignal : IRelistRequests, IDisposable
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _requested = new();
    private bool _pending;

    /// <summary>Cancelled when a relist is requested; take a fresh one after each <see cref="TryConsume"/>.</summary>
    public CancellationToken Token
    {
        get
        {
            lock (_gate)
            {
                return _requested.Token;
            }
        }
    }

    public void Request()
    {
        lock (_gate)
        {
            if (_pending)
            {
                return;
            }

            _pending = true;
            _requested.Cancel();
        }
    }

    /// <summary>True once per request: the caller relists.</summary>
    public bool TryConsume()
    {
        lock (_gate)
        {
            if (!_pending)
            {
                return false;
            }

            _pending = false;
            _requested.Dispose();
            _requested = new CancellationTokenSource();
            return true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _requested.Dispose();
        }
    }
}
