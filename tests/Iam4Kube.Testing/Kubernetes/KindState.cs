namespace Iam4Kube.Testing.Kubernetes;

/// <summary>Everything the fake keeps for one resource type; guarded by <see cref="ClusterState"/>'s lock.</summary>
internal sealed class KindState(ResourceKind kind, long compactedResourceVersion)
{
    public ResourceKind Kind { get; } = kind;

    /// <summary>The live objects, ordered by etcd-like key.</summary>
    public SortedDictionary<string, StoredObject> Objects { get; } = new(StringComparer.Ordinal);

    /// <summary>Changes in resourceVersion order; every change after <see cref="CompactedResourceVersion"/> is here.</summary>
    public List<StoredChange> History { get; } = [];

    /// <summary>Watches and lists from a resourceVersion below this one get 410 Expired.</summary>
    public long CompactedResourceVersion { get; set; } = compactedResourceVersion;

    public List<WatchStream> Watches { get; } = [];

    /// <summary>Every watch request that ever connected for this kind, including those that ended.</summary>
    public int WatchesConnected { get; set; }

    public List<(int Count, TaskCompletionSource Done)> WatchWaiters { get; } = [];

    public List<(Func<StoredObject, bool> Predicate, TaskCompletionSource<StoredObject> Done)> ObjectWaiters { get; } = [];

    /// <summary>The index of the first change after <paramref name="resourceVersion"/>.</summary>
    public int FirstChangeAfter(long resourceVersion)
    {
        int low = 0, high = History.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (History[mid].ResourceVersion <= resourceVersion)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }
}
