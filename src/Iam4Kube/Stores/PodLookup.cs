namespace Iam4Kube.Stores;

/// <summary>The answer to "which pod uses this IP?".</summary>
internal readonly record struct PodLookup(PodLookupResult Result, PodInfo? Pod)
{
    public static readonly PodLookup Missing = new(PodLookupResult.Missing, null);
    public static readonly PodLookup Ambiguous = new(PodLookupResult.Ambiguous, null);
}

internal enum PodLookupResult
{
    Found,
    Missing,

    /// <summary>Two live pods claim the IP (an IP reused before the old pod's deletion was seen): answer nothing.</summary>
    Ambiguous,
}
