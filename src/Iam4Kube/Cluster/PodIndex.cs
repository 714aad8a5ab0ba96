using System.Collections.Concurrent;
using System.Net;
using Iam4Kube.Waiting;

namespace Iam4Kube.Cluster;

/// <summary>
/// Where an IP becomes a pod. Readers (every metadata request) look up lock-free; the single writer (the pod
/// informer) updates under a lock and wakes requests parked on the IPs it changed.
/// </summary>
internal sealed class PodIndex
{
    private readonly Lock _writer = new();
    private readonly Dictionary<string, PodInfo> _byUid = [];
    private readonly ConcurrentDictionary<IPAddress, PodInfo[]> _byIp = new();

    public KeyedSignal<IPAddress> Changed { get; } = new();

    public int Count
    {
        get
        {
            lock (_writer)
            {
                return _byUid.Count;
            }
        }
    }

    public PodLookup Lookup(IPAddress ip)
    {
        if (!_byIp.TryGetValue(ip, out var claims))
        {
            return PodLookup.Missing;
        }

        return claims.Length == 1 ? new PodLookup(PodLookupResult.Found, claims[0]) : PodLookup.Ambiguous;
    }

    /// <summary>Snapshot of all pods (for readiness, which runs rarely).</summary>
    public IReadOnlyList<PodInfo> Snapshot()
    {
        lock (_writer)
        {
            return [.. _byUid.Values];
        }
    }

    public void Upsert(PodInfo pod)
    {
        lock (_writer)
        {
            _byUid.TryGetValue(pod.Uid, out var previous);
            if (previous == pod)
            {
                return;
            }

            _byUid[pod.Uid] = pod;
            Reclaim(previous, pod);
        }
    }

    public void Remove(string uid)
    {
        lock (_writer)
        {
            if (_byUid.Remove(uid, out var previous))
            {
                Reclaim(previous, null);
            }
        }
    }

    /// <summary>Replaces the whole index after a (re)list: pods missing from the list are gone, even if their
    /// DELETE event was never seen.</summary>
    public void ReplaceAll(IEnumerable<PodInfo> pods)
    {
        lock (_writer)
        {
            var fresh = pods.GroupBy(p => p.Uid).ToDictionary(g => g.Key, g => g.Last());
            foreach (var (uid, previous) in _byUid.ToList())
            {
                if (!fresh.ContainsKey(uid))
                {
                    _byUid.Remove(uid);
                    Reclaim(previous, null);
                }
            }

            foreach (var pod in fresh.Values)
            {
                _byUid.TryGetValue(pod.Uid, out var previous);
                if (previous != pod)
                {
                    _byUid[pod.Uid] = pod;
                    Reclaim(previous, pod);
                }
            }
        }
    }

    private void Reclaim(PodInfo? previous, PodInfo? current)
    {
        if (previous is not null)
        {
            foreach (var ip in previous.Ips)
            {
                if (current is null || !current.Ips.Contains(ip))
                {
                    RemoveClaim(ip, previous.Uid);
                }
            }
        }

        if (current is not null)
        {
            foreach (var ip in current.Ips)
            {
                SetClaim(ip, current);
            }
        }
    }

    private void SetClaim(IPAddress ip, PodInfo pod)
    {
        var claims = _byIp.TryGetValue(ip, out var existing)
            ? [.. existing.Where(p => p.Uid != pod.Uid), pod]
            : new[] { pod };
        _byIp[ip] = claims;
        Changed.Pulse(ip);
    }

    private void RemoveClaim(IPAddress ip, string uid)
    {
        if (!_byIp.TryGetValue(ip, out var existing))
        {
            return;
        }

        var remaining = existing.Where(p => p.Uid != uid).ToArray();
        if (remaining.Length == 0)
        {
            _byIp.TryRemove(ip, out _);
        }
        else
        {
            _byIp[ip] = remaining;
        }

        Changed.Pulse(ip);
    }
}
