namespace Iam4Kube.Waiting;

/// <summary>
/// Wakes the requests parked on a key (a pod IP, a ServiceAccount, a role) when the event that may complete them
/// arrives. A waiter subscribes <em>before</em> it re-checks the state it waits for, so a change between the check
/// and the wait is never lost. No polling: <see cref="Pulse"/> completes a task.
/// </summary>
internal sealed class KeyedSignal<TKey>
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, Slot> _slots = [];

    /// <summary>Number of keys with at least one waiter (for tests and metrics).</summary>
    public int WaitedKeys
    {
        get
        {
            lock (_gate)
            {
                return _slots.Count;
            }
        }
    }

    public Subscription Subscribe(TKey key)
    {
        lock (_gate)
        {
            if (!_slots.TryGetValue(key, out var slot))
            {
                slot = new Slot();
                _slots.Add(key, slot);
            }

            slot.Waiters++;
            return new Subscription(this, key, slot);
        }
    }

    /// <summary>Wakes everyone waiting on <paramref name="key"/>. Cheap when nobody waits.</summary>
    public void Pulse(TKey key)
    {
        Slot? slot;
        lock (_gate)
        {
            if (_slots.Count == 0 || !_slots.Remove(key, out slot))
            {
                return;
            }
        }

        slot.Changed.TrySetResult();
    }

    /// <summary>Wakes every waiter, e.g. after a relist replaced the whole state.</summary>
    public void PulseAll()
    {
        Slot[] slots;
        lock (_gate)
        {
            slots = [.. _slots.Values];
            _slots.Clear();
        }

        foreach (var slot in slots)
        {
            slot.Changed.TrySetResult();
        }
    }

    private void Release(TKey key, Slot slot)
    {
        lock (_gate)
        {
            if (--slot.Waiters == 0 && _slots.TryGetValue(key, out var current) && ReferenceEquals(current, slot))
            {
                _slots.Remove(key);
            }
        }
    }

    internal sealed class Slot
    {
        public TaskCompletionSource Changed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Waiters { get; set; }
    }

    /// <summary>One waiter's interest in a key; dispose to release it (on wake-up, timeout or disconnect).</summary>
    internal sealed class Subscription(KeyedSignal<TKey> owner, TKey key, KeyedSignal<TKey>.Slot slot) : IDisposable
    {
        private int _disposed;

        public Task Changed => slot.Changed.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(key, slot);
            }
        }
    }
}
