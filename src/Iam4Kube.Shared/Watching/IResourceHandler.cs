namespace Iam4Kube.Watching;

/// <summary>Applies what an informer sees to a store.</summary>
/// <typeparam name="TItem">The object as the API server sends it.</typeparam>
/// <typeparam name="TKept">What the store keeps of one object.</typeparam>
internal interface IResourceHandler<in TItem, TKept>
    where TKept : class
{
    /// <summary>
    /// What the store keeps of a listed object (null: nothing), taken as each page of a list arrives so that the
    /// decoded page can go: a decoded pod is ~15 KiB, what the index keeps of it under 1 KiB.
    /// </summary>
    TKept? Reduce(TItem item);

    /// <summary>A full list: replaces everything, so a DELETE missed during a disconnect is still applied.</summary>
    void ReplaceAll(IReadOnlyList<TKept> items);

    void Upsert(TItem item);

    void Remove(TItem item);
}
