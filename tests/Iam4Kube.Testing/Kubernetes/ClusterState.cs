using System.Security.Cryptography;
using k8s;
using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// The fake's etcd and watch cache in one: the objects of every kind, one global resourceVersion counter, a bounded
/// history per kind, and the open watches. Every write and every watch registration happens under one lock, so a
/// watch gets each change exactly once and in resourceVersion order, whether it is replayed or live.
/// </summary>
internal sealed class ClusterState
{
    private const string GenerateNameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceKind, KindState> _kinds;
    private readonly TimeProvider _time;
    private readonly int _historyCapacity;
    private long _resourceVersion;
    private TaskCompletionSource _advanced = NewSignal();

    public ClusterState(TimeProvider time, int historyCapacity, long initialResourceVersion)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyCapacity, 1);
        _time = time;
        _historyCapacity = historyCapacity;
        _resourceVersion = initialResourceVersion;
        _kinds = ResourceKinds.All.ToDictionary(k => k, k => new KindState(k, initialResourceVersion));
    }

    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    public StoredObject Create(ResourceKind kind, IKubernetesObject<V1ObjectMeta> value)
    {
        var meta = value.Metadata ??= new V1ObjectMeta();
        if (string.IsNullOrEmpty(meta.Name))
        {
            if (string.IsNullOrEmpty(meta.GenerateName))
            {
                throw ApiStatusException.Invalid(kind, string.Empty, "metadata.name: Required value: name or generateName is required");
            }

            meta.Name = meta.GenerateName + RandomNumberGenerator.GetString(GenerateNameAlphabet, 5);
        }

        if (kind.Namespaced && string.IsNullOrEmpty(meta.NamespaceProperty))
        {
            meta.NamespaceProperty = "default";
        }
        else if (!kind.Namespaced)
        {
            meta.NamespaceProperty = null;
        }

        if (string.IsNullOrEmpty(meta.Uid))
        {
            meta.Uid = Guid.NewGuid().ToString();
        }

        meta.CreationTimestamp ??= WholeSeconds(_time.GetUtcNow());

        lock (_gate)
        {
            var state = _kinds[kind];
            var key = Keys.Of(meta.NamespaceProperty, meta.Name);
            if (state.Objects.ContainsKey(key))
            {
                throw ApiStatusException.AlreadyExists(kind, meta.Name);
            }

            var resourceVersion = ++_resourceVersion;
            meta.ResourceVersion = ResourceVersions.Format(resourceVersion);
            var stored = new StoredObject(kind, value) { CreatedRevision = resourceVersion };
            state.Objects[key] = stored;
            Record(state, new StoredChange(resourceVersion, ChangeType.Added, stored, null));
            return stored;
        }
    }

    /// <summary>Replaces an object (a test's change: always a new resourceVersion and an event).</summary>
    /// <param name="kind">Its kind.</param>
    /// <param name="value">A private copy with the new state.</param>
    public StoredObject Update(ResourceKind kind, IKubernetesObject<V1ObjectMeta> value)
    {
        lock (_gate)
        {
            var state = _kinds[kind];
            var meta = value.Metadata;
            if (!kind.Namespaced)
            {
                meta.NamespaceProperty = null;
            }

            var key = Keys.Of(meta.NamespaceProperty, meta.Name);
            if (!state.Objects.TryGetValue(key, out var existing))
            {
                throw ApiStatusException.NotFound(kind, meta.Name);
            }

            return Replace(state, existing, value, preconditionResourceVersion: null, skipIfUnchanged: false);
        }
    }

    /// <summary>Derives the next version from the current one under the lock (a PATCH: no lost updates).</summary>
    public StoredObject Mutate(
        ResourceKind kind,
        string? @namespace,
        string name,
        Func<StoredObject, IKubernetesObject<V1ObjectMeta>> next)
    {
        lock (_gate)
        {
            var state = _kinds[kind];
            if (!state.Objects.TryGetValue(Keys.Of(@namespace, name), out var existing))
            {
                throw ApiStatusException.NotFound(kind, name);
            }

            var value = next(existing);
            if (value.Metadata?.Name != name || value.Metadata.NamespaceProperty != @namespace)
            {
                throw ApiStatusException.BadRequest("a patch may not change metadata.name or metadata.namespace");
            }

            return Replace(state, existing, value, value.Metadata.ResourceVersion, skipIfUnchanged: true);
        }
    }

    /// <summary>Deletes an object now (no graceful deletion) and, unless <paramref name="silently"/>, tells the watches.</summary>
    public StoredObject Delete(ResourceKind kind, string? @namespace, string name, bool silently)
    {
        lock (_gate)
        {
            var state = _kinds[kind];
            var key = Keys.Of(kind.Namespaced ? @namespace : null, name);
            if (!state.Objects.Remove(key, out var existing))
            {
                throw ApiStatusException.NotFound(kind, name);
            }

            var resourceVersion = ++_resourceVersion;
            var last = existing.CopyValue();
            last.Metadata.ResourceVersion = ResourceVersions.Format(resourceVersion);
            var final = new StoredObject(kind, last) { CreatedRevision = existing.CreatedRevision };
            if (silently)
            {
                // Gone from the store with no trace in the history: only a relist can tell.
                Signal();
            }
            else
            {
                Record(state, new StoredChange(resourceVersion, ChangeType.Deleted, final, existing));
            }

            return final;
        }
    }

    public StoredObject? Get(ResourceKind kind, string? @namespace, string name)
    {
        lock (_gate)
        {
            return _kinds[kind].Objects.GetValueOrDefault(Keys.Of(kind.Namespaced ? @namespace : null, name));
        }
    }

    /// <summary>All live objects of a kind that <paramref name="filter"/> selects, in key order.</summary>
    public List<StoredObject> Snapshot(ResourceKind kind, ObjectFilter filter)
    {
        lock (_gate)
        {
            return _kinds[kind].Objects.Values.Where(filter.Matches).ToList();
        }
    }

    /// <summary>One LIST page, at <paramref name="resourceVersion"/> (null: the current one).</summary>
    /// <param name="kind">The kind listed.</param>
    /// <param name="filter">Namespace and selectors.</param>
    /// <param name="limit">Page size (0: everything).</param>
    /// <param name="start">Where a continued list resumes (null: at the first key).</param>
    /// <param name="resourceVersion">The snapshot to serve; null for the current state.</param>
    public ListPage List(ResourceKind kind, ObjectFilter filter, int limit, ContinueToken? start, long? resourceVersion)
    {
        lock (_gate)
        {
            var state = _kinds[kind];
            var at = resourceVersion ?? _resourceVersion;
            if (at < state.CompactedResourceVersion)
            {
                if (start is { } token)
                {
                    throw ApiStatusException.Expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                        new ContinueToken(-1, token.StartKey).Encode());
                }

                throw ApiStatusException.Expired($"The resourceVersion for the provided list is too old.");
            }

            var source = at == _resourceVersion ? state.Objects.Values : ObjectsAt(state, at);
            var items = new List<StoredObject>(limit > 0 ? Math.Min(limit, state.Objects.Count) : state.Objects.Count);
            string? next = null;
            long remaining = 0;
            foreach (var stored in source)
            {
                if ((start is { } from && string.CompareOrdinal(stored.Key, from.StartKey) < 0) || !filter.InNamespace(stored))
                {
                    continue;
                }

                if (next is not null)
                {
                    remaining++;
                    continue;
                }

                if (!filter.Matches(stored))
                {
                    continue;
                }

                if (limit > 0 && items.Count == limit)
                {
                    next = ContinueToken.After(at, items[^1].Key).Encode();
                    remaining = 1;
                    if (filter.HasSelectors)
                    {
                        // kube-apiserver only counts the remainder when nothing but the key range selects.
                        break;
                    }

                    continue;
                }

                items.Add(stored);
            }

            return new ListPage(at, items, next, next is not null && !filter.HasSelectors ? remaining : null);
        }
    }

    /// <summary>
    /// Registers a watch: replays what it asked for, then keeps it for live events. Returns false when the watch
    /// was answered with an ERROR (too old resourceVersion) and ended instead.
    /// </summary>
    /// <param name="watch">The connection.</param>
    /// <param name="from">The resourceVersion to start after; null to start with the current state as ADDED events.</param>
    public bool StartWatch(WatchStream watch, long? from)
    {
        lock (_gate)
        {
            var state = _kinds[watch.Kind];
            state.WatchesConnected++;
            CompleteWatchWaiters(state);

            if (from is { } after)
            {
                if (after < state.CompactedResourceVersion)
                {
                    // kube-apiserver answers 200 and reports this in-band, then ends the stream.
                    watch.Enqueue(ApiJson.ErrorLine(ApiStatusException.Expired(
                        $"too old resource version: {after} ({state.CompactedResourceVersion})")));
                    watch.Complete();
                    return false;
                }

                for (var i = state.FirstChangeAfter(after); i < state.History.Count; i++)
                {
                    if (state.History[i].LineFor(watch.Filter) is { } line)
                    {
                        watch.Enqueue(line);
                    }
                }

                watch.StartResourceVersion = Math.Max(after, _resourceVersion);
            }
            else
            {
                foreach (var stored in state.Objects.Values)
                {
                    if (watch.Filter.Matches(stored))
                    {
                        watch.Enqueue(stored.AddedLine);
                    }
                }

                watch.StartResourceVersion = _resourceVersion;
            }

            state.Watches.Add(watch);
            return true;
        }
    }

    public void StopWatch(WatchStream watch)
    {
        lock (_gate)
        {
            _kinds[watch.Kind].Watches.Remove(watch);
        }
    }

    public int ActiveWatchCount(ResourceKind kind)
    {
        lock (_gate)
        {
            return _kinds[kind].Watches.Count;
        }
    }

    public int WatchesConnected(ResourceKind kind)
    {
        lock (_gate)
        {
            return _kinds[kind].WatchesConnected;
        }
    }

    /// <summary>Aborts every open watch connection; returns how many.</summary>
    public int DropWatches(bool midFrame)
    {
        lock (_gate)
        {
            var dropped = 0;
            foreach (var state in _kinds.Values)
            {
                if (state.Watches.Count == 0)
                {
                    continue;
                }

                var partial = midFrame ? HalfFrame(state) : [];
                foreach (var watch in state.Watches)
                {
                    watch.EnqueueDrop(partial);
                    dropped++;
                }

                state.Watches.Clear();
            }

            return dropped;
        }
    }

    /// <summary>Silences every open watch (or one): they stay connected but receive nothing more, ever.</summary>
    public int SilenceWatches(WatchStream? only = null)
    {
        lock (_gate)
        {
            var silenced = 0;
            foreach (var state in _kinds.Values)
            {
                foreach (var watch in state.Watches.Where(w => only is null || w == only).ToList())
                {
                    watch.Silence();
                    state.Watches.Remove(watch);
                    silenced++;
                }
            }

            return silenced;
        }
    }

    /// <summary>Ends every open watch cleanly (shutdown).</summary>
    public void CompleteWatches()
    {
        lock (_gate)
        {
            foreach (var state in _kinds.Values)
            {
                state.Watches.ForEach(w => w.Complete());
                state.Watches.Clear();
            }
        }
    }

    /// <summary>Sends a BOOKMARK at the current resourceVersion to every watch that allowed bookmarks.</summary>
    public void SendBookmarks()
    {
        lock (_gate)
        {
            foreach (var state in _kinds.Values)
            {
                byte[]? line = null;
                foreach (var watch in state.Watches)
                {
                    if (watch.Bookmarks)
                    {
                        watch.Enqueue(line ??= ApiJson.BookmarkLine(state.Kind, _resourceVersion));
                    }
                }
            }
        }
    }

    /// <summary>Sends one watch a BOOKMARK at the current resourceVersion, if it is still open and allowed them.</summary>
    public void SendBookmark(WatchStream watch)
    {
        lock (_gate)
        {
            if (watch.Bookmarks && _kinds[watch.Kind].Watches.Contains(watch))
            {
                watch.Enqueue(ApiJson.BookmarkLine(watch.Kind, _resourceVersion));
            }
        }
    }

    /// <summary>Forgets every kind's history: watches and continued lists from before now get 410 Expired.</summary>
    public void CompactHistory()
    {
        lock (_gate)
        {
            foreach (var state in _kinds.Values)
            {
                state.History.Clear();
                state.CompactedResourceVersion = _resourceVersion;
            }
        }
    }

    public Task WaitForWatchesAsync(ResourceKind kind, int count)
    {
        lock (_gate)
        {
            var state = _kinds[kind];
            if (state.WatchesConnected >= count)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            state.WatchWaiters.Add((count, done));
            return done.Task;
        }
    }

    /// <summary>Resolves with the first object of the kind (existing, created or updated) that the predicate accepts.</summary>
    public Task<StoredObject> WaitForObjectAsync(ResourceKind kind, Func<StoredObject, bool> predicate)
    {
        lock (_gate)
        {
            var state = _kinds[kind];
            foreach (var stored in state.Objects.Values)
            {
                if (predicate(stored))
                {
                    return Task.FromResult(stored);
                }
            }

            var done = new TaskCompletionSource<StoredObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            state.ObjectWaiters.Add((predicate, done));
            return done.Task;
        }
    }

    public void CancelWaiter(ResourceKind kind, Task waiter)
    {
        lock (_gate)
        {
            var state = _kinds[kind];
            state.WatchWaiters.RemoveAll(w => w.Done.Task == waiter);
            state.ObjectWaiters.RemoveAll(w => w.Done.Task == waiter);
        }
    }

    /// <summary>Resolves once the global resourceVersion is at least <paramref name="resourceVersion"/>.</summary>
    public async Task<bool> WaitForResourceVersionAsync(long resourceVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        while (true)
        {
            Task advanced;
            lock (_gate)
            {
                if (_resourceVersion >= resourceVersion)
                {
                    return true;
                }

                advanced = _advanced.Task;
            }

            var left = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await advanced.WaitAsync(left, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static DateTime WholeSeconds(DateTimeOffset now) =>
        new(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    /// <summary>The objects as they were at <paramref name="resourceVersion"/>, undoing the history after it.</summary>
    private static SortedDictionary<string, StoredObject>.ValueCollection ObjectsAt(KindState state, long resourceVersion)
    {
        var then = new SortedDictionary<string, StoredObject>(state.Objects, StringComparer.Ordinal);
        var undone = new HashSet<string>(StringComparer.Ordinal);
        for (var i = state.FirstChangeAfter(resourceVersion); i < state.History.Count; i++)
        {
            var change = state.History[i];
            if (!undone.Add(change.Object.Key))
            {
                continue;
            }

            if (change.Previous is null)
            {
                then.Remove(change.Object.Key);
            }
            else
            {
                then[change.Object.Key] = change.Previous;
            }
        }

        return then.Values;
    }

    private static byte[] HalfFrame(KindState state)
    {
        var line = state.Objects.Count > 0 ? state.Objects.Values.First().AddedLine : ApiJson.BookmarkLine(state.Kind, 0);
        return line[..(line.Length / 2)];
    }

    private static void CompleteWatchWaiters(KindState state)
    {
        for (var i = state.WatchWaiters.Count - 1; i >= 0; i--)
        {
            if (state.WatchWaiters[i].Count <= state.WatchesConnected)
            {
                state.WatchWaiters[i].Done.TrySetResult();
                state.WatchWaiters.RemoveAt(i);
            }
        }
    }

    private StoredObject Replace(
        KindState state,
        StoredObject existing,
        IKubernetesObject<V1ObjectMeta> value,
        string? preconditionResourceVersion,
        bool skipIfUnchanged)
    {
        var kind = state.Kind;
        var meta = value.Metadata;
        if (!string.IsNullOrEmpty(preconditionResourceVersion)
            && preconditionResourceVersion != ResourceVersions.Format(existing.ResourceVersion))
        {
            throw ApiStatusException.Conflict(kind, meta.Name);
        }

        // The server owns these; a client that leaves them out does not clear them.
        var before = existing.Value.Metadata;
        meta.Uid = string.IsNullOrEmpty(meta.Uid) ? before.Uid : meta.Uid;
        meta.CreationTimestamp ??= before.CreationTimestamp;

        if (skipIfUnchanged)
        {
            meta.ResourceVersion = ResourceVersions.Format(existing.ResourceVersion);
            var same = new StoredObject(kind, value);
            if (same.ListItemJson.AsSpan().SequenceEqual(existing.ListItemJson))
            {
                return existing;
            }
        }

        var resourceVersion = ++_resourceVersion;
        meta.ResourceVersion = ResourceVersions.Format(resourceVersion);
        var stored = new StoredObject(kind, value) { CreatedRevision = existing.CreatedRevision };
        state.Objects[existing.Key] = stored;
        Record(state, new StoredChange(resourceVersion, ChangeType.Modified, stored, existing));
        return stored;
    }

    private void Record(KindState state, StoredChange change)
    {
        state.History.Add(change);
        if (state.History.Count > _historyCapacity + Math.Max(1, _historyCapacity / 4))
        {
            // Trim in batches; everything up to the newest forgotten change is now too old to watch from.
            var forget = state.History.Count - _historyCapacity;
            state.CompactedResourceVersion = state.History[forget - 1].ResourceVersion;
            state.History.RemoveRange(0, forget);
        }

        foreach (var watch in state.Watches)
        {
            if (change.ResourceVersion > watch.StartResourceVersion && change.LineFor(watch.Filter) is { } line)
            {
                watch.Enqueue(line);
            }
        }

        if (change.Type != ChangeType.Deleted)
        {
            for (var i = state.ObjectWaiters.Count - 1; i >= 0; i--)
            {
                var (predicate, done) = state.ObjectWaiters[i];
                try
                {
                    if (!predicate(change.Object))
                    {
                        continue;
                    }

                    done.TrySetResult(change.Object);
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }

                state.ObjectWaiters.RemoveAt(i);
            }
        }

        Signal();
    }

    private void Signal()
    {
        var advanced = _advanced;
        _advanced = NewSignal();
        advanced.TrySetResult();
    }
}
