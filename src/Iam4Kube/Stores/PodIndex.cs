using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Iam4Kube.Cluster;
using Iam4Kube.Waiting;

namespace Iam4Kube.Stores;

/// <summary>
/// Where an IP becomes a pod. Readers (every metadata request) look up lock-free; the single writer (the pod
/// informer) updates under a lock and wakes requests parked on the IPs it changed.
/// <para>
/// Two live pods claiming one IP means one of them is stale: its deletion was missed (a watch gap longer than the
/// API server's history). Which one cannot be known from the events, so the IP is <em>suspect</em>: it answers
/// nothing — even after one of the claims goes away, since the survivor may be the stale one — until a full list
/// says who really owns it. Suspicion asks the informer for that list at once (<see cref="RelistRequested"/>); when a
/// claim leaves a suspect IP, the survivor is checked with a GET of that pod (<see cref="Confirmations"/>), so that
/// a confirmed ambiguity clears within moments of its end.
/// </para>
/// <para>
/// A pod being deleted (<see cref="PodInfo.Terminating"/>) keeps its IP while nobody else claims it, so it is served
/// through its grace period. A second claimant beside it is no evidence of a missed event (the IP was released by the
/// old pod's sandbox and handed on before its DELETE arrived), so the IP answers nothing but is not suspect: the old
/// pod's DELETE hands it to the new one, without a relist.
/// </para>
/// </summary>
internal sealed class PodIndex : IDisposable
{
    private readonly Lock _writer = new();
    private readonly Dictionary<string, PodInfo> _byUid = [];
    private readonly ConcurrentDictionary<IPAddress, IpClaims> _byIp = new();
    private readonly Channel<Confirmation> _confirmations = Channel.CreateUnbounded<Confirmation>(new UnboundedChannelOptions { SingleReader = true });

    public KeyedSignal<IPAddress> Changed { get; } = new();

    /// <summary>Pulsed with a pod's uid when that pod is added, changed or removed (the token door waits on it).</summary>
    public KeyedSignal<string> UidChanged { get; } = new();

    /// <summary>
    /// Told, under the index's lock and before any request is woken, of every pod added (previous null), changed or
    /// removed (current null): compatibility mode's prefetch of the roles pods name (<see cref="Policy.PodRoleDemand"/>).
    /// </summary>
    public event Action<PodInfo?, PodInfo?>? PodChanged;

    /// <summary>Set when the index found evidence of a missed event; the pod informer relists and clears it.</summary>
    public RelistSignal RelistRequested { get; } = new();

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

        return claims is { Suspect: false, Pods.Length: 1 } ? new PodLookup(PodLookupResult.Found, claims.Pods[0]) : PodLookup.Ambiguous;
    }

    /// <summary>Every pod claiming <paramref name="ip"/>, trusted or not (explain: who makes an IP ambiguous).</summary>
    public IReadOnlyList<PodInfo> Claimants(IPAddress ip) => _byIp.TryGetValue(ip, out var claims) ? claims.Pods : [];

    /// <summary>The pod named <paramref name="name"/>, claiming an IP or not (explain, which runs rarely: a scan).</summary>
    public PodInfo? Find(NamespacedName name)
    {
        lock (_writer)
        {
            return _byUid.Values.FirstOrDefault(p => p.Name == name);
        }
    }

    /// <summary>The pod with uid <paramref name="uid"/>, claiming an IP or not (hostNetwork, being deleted).</summary>
    public PodInfo? ByUid(string uid)
    {
        lock (_writer)
        {
            return _byUid.GetValueOrDefault(uid);
        }
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
            PodChanged?.Invoke(previous, pod);
            Reclaim(previous, pod);
            UidChanged.Pulse(pod.Uid);
        }
    }

    public void Remove(string uid)
    {
        lock (_writer)
        {
            if (_byUid.Remove(uid, out var previous))
            {
                PodChanged?.Invoke(previous, null);
                Reclaim(previous, null);
                UidChanged.Pulse(uid);
            }
        }
    }

    /// <summary>Replaces the whole index after a (re)list: pods missing from the list are gone, even if their
    /// DELETE event was never seen, and suspicion is settled by what the list says.</summary>
    public void ReplaceAll(IEnumerable<PodInfo> pods)
    {
        lock (_writer)
        {
            var before = _byUid.Keys.ToList();
            var previous = PodChanged is null ? null : new Dictionary<string, PodInfo>(_byUid);
            _byUid.Clear();
            foreach (var pod in pods)
            {
                _byUid[pod.Uid] = pod;
            }

            if (previous is not null)
            {
                foreach (var uid in before.Union(_byUid.Keys))
                {
                    var (was, now) = (previous.GetValueOrDefault(uid), _byUid.GetValueOrDefault(uid));
                    if (was != now)
                    {
                        PodChanged?.Invoke(was, now);
                    }
                }
            }

            foreach (var uid in before.Concat(_byUid.Keys))
            {
                UidChanged.Pulse(uid);
            }

            var fresh = _byUid.Values
                .SelectMany(p => p.Ips.Select(ip => (Ip: ip, Pod: p)))
                .GroupBy(c => c.Ip)
                .ToDictionary(g => g.Key, g => g.Select(c => c.Pod).ToArray());

            foreach (var ip in _byIp.Keys.Union(fresh.Keys).ToList())
            {
                _byIp.TryGetValue(ip, out var current);
                // Two live pods in an authoritative list: still ambiguous, but relisting again would not help.
                var next = fresh.TryGetValue(ip, out var claimants) ? new IpClaims(claimants, LiveClaimants(claimants) > 1) : null;
                if (current is not null && next is not null && current.Suspect == next.Suspect && current.Pods.SequenceEqual(next.Pods))
                {
                    continue;
                }

                if (next is null)
                {
                    _byIp.TryRemove(ip, out _);
                }
                else
                {
                    _byIp[ip] = next;
                }

                Changed.Pulse(ip);
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
        _byIp.TryGetValue(ip, out var existing);
        PodInfo[] pods = existing is null ? [pod] : [.. existing.Pods.Where(p => p.Uid != pod.Uid), pod];
        var suspect = existing?.Suspect == true || LiveClaimants(pods) > 1;
        _byIp[ip] = new IpClaims(pods, suspect);
        if (suspect && existing?.Suspect != true)
        {
            RelistRequested.Request();
        }

        Changed.Pulse(ip);
    }

    private void RemoveClaim(IPAddress ip, string uid)
    {
        if (!_byIp.TryGetValue(ip, out var existing))
        {
            return;
        }

        var remaining = existing.Pods.Where(p => p.Uid != uid).ToArray();
        if (existing.Suspect && remaining.Length == 1)
        {
            // A claimant of a suspect IP went away: the survivor may be the rightful owner, but only the API server
            // can say so. Ask it about that one pod now (no relist, the watch goes on), or the IP stays unanswered
            // until some unrelated relist: hours with a healthy watch.
            _confirmations.Writer.TryWrite(new Confirmation(ip, remaining[0]));
        }
        else if (existing.Suspect && remaining.Length == 0)
        {
            // No claim left: nothing to guess between. Unknown (404, or a wait for a pod) is safe.
            _byIp.TryRemove(ip, out _);
            Changed.Pulse(ip);
            return;
        }

        if (remaining.Length == 0 && !existing.Suspect)
        {
            _byIp.TryRemove(ip, out _);
        }
        else
        {
            _byIp[ip] = existing with { Pods = remaining };
        }

        Changed.Pulse(ip);
    }

    /// <summary>Claimants not being deleted: two of them on one IP mean a missed event.</summary>
    private static int LiveClaimants(PodInfo[] pods) => pods.Count(p => !p.Terminating);

    /// <summary>Survivors of suspect IPs to confirm with the API server (<see cref="Confirm"/> applies the answer).</summary>
    public ChannelReader<Confirmation> Confirmations => _confirmations.Reader;

    /// <summary>
    /// Settles a suspect IP with what the API server says now about its last claimant: <paramref name="current"/> is
    /// the pod as read (null: it no longer exists, or its uid changed, so the claim was stale).
    /// </summary>
    public void Confirm(Confirmation confirmation, PodInfo? current)
    {
        lock (_writer)
        {
            var (ip, claimant) = confirmation;
            if (!_byIp.TryGetValue(ip, out var claims) || !claims.Suspect || claims.Pods is not [var only] || only.Uid != claimant.Uid)
            {
                // Settled or changed meanwhile: events and lists after our question know better.
                return;
            }

            if (current is null || current.Uid != claimant.Uid)
            {
                // The survivor's DELETE was the missed event.
                if (_byUid.Remove(claimant.Uid, out var stale))
                {
                    PodChanged?.Invoke(stale, null);
                    Reclaim(stale, null);
                    UidChanged.Pulse(claimant.Uid);
                }

                return;
            }

            if (current.Ips.Contains(ip))
            {
                _byIp[ip] = claims with { Suspect = false };
                Changed.Pulse(ip);
            }
        }
    }

    public void Dispose() => RelistRequested.Dispose();

    /// <summary>A suspect IP's last claimant, to check with the API server.</summary>
    internal readonly record struct Confirmation(IPAddress Ip, PodInfo Claimant);

    /// <summary>The pods claiming one IP, and whether the claims can be trusted.</summary>
    private sealed record IpClaims(PodInfo[] Pods, bool Suspect);
}
