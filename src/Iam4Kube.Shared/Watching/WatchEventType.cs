namespace Iam4Kube.Watching;

/// <summary>
/// A watch event the informer applies (<see cref="WatchStream"/>). kube-apiserver's fifth type, ERROR, is never
/// yielded: its Status goes to the watch's error callback.
/// </summary>
internal enum WatchEventType
{
    Added,
    Modified,
    Deleted,

    /// <summary>Only metadata.resourceVersion is set: the server's proof that the watch is alive at that version.</summary>
    Bookmark,
}
