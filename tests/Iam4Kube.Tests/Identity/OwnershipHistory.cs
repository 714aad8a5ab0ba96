using System.Diagnostics;

namespace Iam4Kube.Tests.Identity;

/// <summary>
/// The truth the interleaving test checks iam4kube against: which pod (and so which ServiceAccount) owned each IP
/// when, and which role each ServiceAccount's annotation named when. Intervals are recorded generously (a start
/// before the API call, an end after it returns), so only real violations fail.
/// </summary>
internal sealed class OwnershipHistory
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<Interval<(string Namespace, string ServiceAccount, string Pod)>>> _owners = [];
    private readonly Dictionary<(string Namespace, string ServiceAccount), List<Interval<string?>>> _roles = [];
    private readonly Dictionary<string, List<Interval<IReadOnlySet<string>>>> _permits = [];

    public static long Now => Stopwatch.GetTimestamp();

    public static TimeSpan Elapsed(long from, long to) => Stopwatch.GetElapsedTime(from, to);

    public void PodStarted(string ip, string ns, string serviceAccount, string pod, long at)
    {
        lock (_gate)
        {
            Get(_owners, ip).Add(new Interval<(string, string, string)>((ns, serviceAccount, pod), at));
        }
    }

    public void PodEnded(string ip, string pod, long at)
    {
        lock (_gate)
        {
            var open = Get(_owners, ip).Last(i => i.Value.Pod == pod && i.End is null);
            open.End = at;
        }
    }

    /// <summary>
    /// Records an annotation change around the API call that makes it: <paramref name="change"/> runs the call. The
    /// new role counts from before the call (a client may see it as soon as the call lands, before this method
    /// returns) and the old one until after it.
    /// </summary>
    public void RoleChange(string ns, string serviceAccount, string? roleArn, Action change)
    {
        Interval<string?>? previous;
        lock (_gate)
        {
            var list = Get(_roles, (ns, serviceAccount));
            previous = list.Count > 0 && list[^1].End is null ? list[^1] : null;
            list.Add(new Interval<string?>(roleArn, Now));
        }

        change();
        lock (_gate)
        {
            previous?.End = Now;
        }
    }

    /// <summary>
    /// Records a change of the roles a namespace permits (--namespace-restrictions) around the API call that makes
    /// it, as <see cref="RoleChange"/> does: the new set counts from before the call, the old one until after it.
    /// </summary>
    public void PermitChange(string ns, IReadOnlySet<string> roleArns, Action change)
    {
        Interval<IReadOnlySet<string>>? previous;
        lock (_gate)
        {
            var list = Get(_permits, ns);
            previous = list.Count > 0 && list[^1].End is null ? list[^1] : null;
            list.Add(new Interval<IReadOnlySet<string>>(roleArns, Now));
        }

        change();
        lock (_gate)
        {
            previous?.End = Now;
        }
    }

    /// <summary>IPs owned right now by exactly one pod: the only places a real client could send from.</summary>
    public List<string> OwnedIps()
    {
        lock (_gate)
        {
            return [.. _owners.Where(o => o.Value.Count(i => i.End is null) == 1).Select(o => o.Key)];
        }
    }

    /// <summary>
    /// Whether a response naming <paramref name="ns"/>/<paramref name="serviceAccount"/> and
    /// <paramref name="roleArn"/> is allowed for a request from <paramref name="ip"/> that ran from
    /// <paramref name="from"/> to <paramref name="to"/>: some pod of that ServiceAccount owned the IP, and the
    /// ServiceAccount named that role, at some moment within [from - lag, to].
    /// </summary>
    public string? Violation(string ip, string ns, string serviceAccount, string? roleArn, long from, long to, TimeSpan lag)
    {
        var windowStart = from - (long)(lag.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            var owned = Get(_owners, ip).Any(i => i.Value.Namespace == ns && i.Value.ServiceAccount == serviceAccount && i.Overlaps(windowStart, to));
            if (!owned)
            {
                var owners = string.Join(", ", Get(_owners, ip).Where(i => i.Overlaps(windowStart, to)).Select(i => $"{i.Value.Namespace}/{i.Value.Pod} (sa {i.Value.ServiceAccount})"));
                var last = Get(_owners, ip).Where(i => i.Value.Namespace == ns && i.Value.ServiceAccount == serviceAccount && i.End is not null && i.End < from)
                    .Select(i => i.End!.Value).DefaultIfEmpty(long.MinValue).Max();
                var ago = last == long.MinValue ? "never" : $"{Elapsed(last, from).TotalMilliseconds:F0} ms before the request";
                return $"{ip} got credentials of {ns}/{serviceAccount}, whose last pod there left {ago}; during the request only these pods owned it: [{owners}]";
            }

            if (roleArn is not null && !Get(_roles, (ns, serviceAccount)).Any(i => i.Value == roleArn && i.Overlaps(windowStart, to)))
            {
                var lastNamed = Get(_roles, (ns, serviceAccount)).Where(i => i.Value == roleArn && i.End is not null && i.End < from)
                    .Select(i => i.End!.Value).DefaultIfEmpty(long.MinValue).Max();
                var ago = lastNamed == long.MinValue ? "never" : $"{Elapsed(lastNamed, from).TotalMilliseconds:F0} ms before the request";
                return $"{ip} got {roleArn} for {ns}/{serviceAccount}, which that ServiceAccount last named {ago}";
            }

            // Namespace restrictions, when recorded: the namespace permitted the role at some moment of the window.
            if (roleArn is not null && _permits.TryGetValue(ns, out var permits) && !permits.Any(i => i.Value.Contains(roleArn) && i.Overlaps(windowStart, to)))
            {
                var lastPermitted = permits.Where(i => i.Value.Contains(roleArn) && i.End is not null && i.End < from)
                    .Select(i => i.End!.Value).DefaultIfEmpty(long.MinValue).Max();
                var ago = lastPermitted == long.MinValue ? "never" : $"{Elapsed(lastPermitted, from).TotalMilliseconds:F0} ms before the request";
                return $"{ip} got {roleArn} for {ns}/{serviceAccount}, which namespace {ns} last permitted {ago}";
            }
        }

        return null;
    }

    private static List<T> Get<TKey, T>(Dictionary<TKey, List<T>> map, TKey key)
        where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list))
        {
            list = [];
            map[key] = list;
        }

        return list;
    }

    private sealed class Interval<T>(T value, long start)
    {
        public T Value => value;

        public long Start => start;

        public long? End { get; set; }

        public bool Overlaps(long from, long to) => Start <= to && (End is null || End >= from);
    }
}
