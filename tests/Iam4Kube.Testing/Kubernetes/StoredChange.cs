namespace Iam4Kube.Testing.Kubernetes;

/// <summary>One entry of a kind's history (the fake's watch cache): what happened to an object at a resourceVersion.</summary>
internal sealed class StoredChange(long resourceVersion, ChangeType type, StoredObject @object, StoredObject? previous)
{
    private byte[]? _line;
    private byte[]? _leftSelectionLine;

    public long ResourceVersion { get; } = resourceVersion;

    public ChangeType Type { get; } = type;

    /// <summary>The object after the change; for a deletion, its last state at the deletion's resourceVersion.</summary>
    public StoredObject Object { get; } = @object;

    /// <summary>The object before the change (none for an addition).</summary>
    public StoredObject? Previous { get; } = previous;

    /// <summary>The frame every unfiltered watch of the namespace receives.</summary>
    public byte[] Line => _line ??= Type switch
    {
        ChangeType.Added => Object.AddedLine,
        ChangeType.Modified => ApiJson.WatchLine("MODIFIED", Object.Json),
        _ => ApiJson.WatchLine("DELETED", Object.Json),
    };

    /// <summary>
    /// The frame a watch with <paramref name="filter"/> receives, or null when the change is outside its selection.
    /// As kube-apiserver does, an object modified into a selection is ADDED for that watch and one modified out of
    /// it is DELETED (with its previous state at the new resourceVersion).
    /// </summary>
    public byte[]? LineFor(ObjectFilter filter)
    {
        if (!filter.InNamespace(Object))
        {
            return null;
        }

        if (!filter.HasSelectors)
        {
            return Line;
        }

        var matchesNow = filter.Matches(Object);
        if (Type != ChangeType.Modified)
        {
            return matchesNow ? Line : null;
        }

        var matchedBefore = Previous is not null && filter.Matches(Previous);
        return (matchedBefore, matchesNow) switch
        {
            (true, true) => Line,
            (false, true) => Object.AddedLine,
            (true, false) => _leftSelectionLine ??= LeftSelectionLine(),
            _ => null,
        };
    }

    private byte[] LeftSelectionLine()
    {
        var last = Previous!.CopyValue();
        last.Metadata.ResourceVersion = ResourceVersions.Format(ResourceVersion);
        return ApiJson.WatchLine("DELETED", new StoredObject(Object.Kind, last).Json);
    }
}
