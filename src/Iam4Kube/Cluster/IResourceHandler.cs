namespace Iam4Kube.Cluster;

/// <summary>Applies what an informer sees to a store.</summary>
internal interface IResourceHandler<in TItem>
{
    /// <summary>A full list: replaces everything, so a DELETE missed during a disconnect is still applied.</summary>
    void ReplaceAll(IReadOnlyList<TItem> items);

    void Upsert(TItem item);

    void Remove(TItem item);
}
