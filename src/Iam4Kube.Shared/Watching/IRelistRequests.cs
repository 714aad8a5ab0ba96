namespace Iam4Kube.Watching;

/// <summary>
/// A store's requests for a full list (it saw evidence of a missed event), as the informer consumes them: it ends the
/// current watch when <see cref="Token"/> is cancelled and lists again once <see cref="TryConsume"/> says so.
/// </summary>
internal interface IRelistRequests
{
    /// <summary>Cancelled when a relist is requested; take a fresh one after each <see cref="TryConsume"/>.</summary>
    CancellationToken Token { get; }

    /// <summary>True once per request: the caller relists.</summary>
    bool TryConsume();
}
