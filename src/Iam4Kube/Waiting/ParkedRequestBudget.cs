namespace Iam4Kube.Waiting;

/// <summary>
/// Bounds how many requests may be parked at once, so a flood of requests from unknown IPs cannot exhaust memory.
/// Beyond the bound a request is answered 503 at once.
/// </summary>
internal sealed class ParkedRequestBudget(int limit) : IDisposable
{
    private readonly CancellationTokenSource _released = new();
    private int _parked;

    public int Parked => Volatile.Read(ref _parked);

    public int Limit => limit;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _parked) > limit)
        {
            Interlocked.Decrement(ref _parked);
            return false;
        }

        return true;
    }

    public void Leave() => Interlocked.Decrement(ref _parked);

    /// <summary>Cancelled when the server starts draining: parked requests are answered now rather than cut off.</summary>
    public CancellationToken Released => _released.Token;

    public void ReleaseAll() => _released.Cancel();

    public void Dispose() => _released.Dispose();
}
