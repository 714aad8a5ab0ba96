namespace Iam4Kube.Cluster;

/// <summary>
/// How old the view of the cluster is: per resource, the time since the last proof that it was up to date (a watch
/// event, a BOOKMARK or a complete list). Past <see cref="MaxAge"/> the replica no longer claims to know who owns an
/// IP: it answers unready and refuses identity answers with 503 (docs/security.md, "A frozen view").
/// </summary>
internal sealed partial class ViewFreshness(TimeProvider time, TimeSpan maxAge, ILogger<ViewFreshness> logger)
{
    // One entry per watched resource (three or four), read without a lock by IsTooOld, which every identity answer
    // calls: a ConcurrentDictionary's Keys took all its locks and allocated a list per request (a warm-path profile,
    // docs/benchmarks.md). A resource is added once, so the array is replaced, under _adding, a handful of times in a
    // process's life.
    private readonly Lock _adding = new();
    private volatile Heard[] _all = [];
    private int _tooOld;

    /// <summary>Zero: never too old (local mode has no API server to be behind).</summary>
    public TimeSpan MaxAge => maxAge;

    public IEnumerable<string> Resources => _all.Select(heard => heard.Resource);

    /// <summary>Records that <paramref name="resource"/> is known to be up to date now.</summary>
    public void Touch(string resource)
    {
        var now = time.GetTimestamp();
        if (Find(resource) is { } heard)
        {
            Volatile.Write(ref heard.Timestamp, now);
            return;
        }

        lock (_adding)
        {
            if (Find(resource) is { } added)
            {
                Volatile.Write(ref added.Timestamp, now);
                return;
            }

            _all = [.. _all, new Heard(resource) { Timestamp = now }];
        }
    }

    /// <summary>Seconds since <paramref name="resource"/> was last known to be up to date; null before its first list.</summary>
    public TimeSpan? Age(string resource) =>
        Find(resource) is { } heard ? time.GetElapsedTime(Volatile.Read(ref heard.Timestamp)) : null;

    /// <summary>The stalest resource, if any is older than <see cref="MaxAge"/>. Logs when that changes.</summary>
    public bool IsTooOld(out string resource, out TimeSpan age)
    {
        resource = "";
        age = TimeSpan.Zero;
        if (maxAge > TimeSpan.Zero)
        {
            foreach (var heard in _all)
            {
                var a = time.GetElapsedTime(Volatile.Read(ref heard.Timestamp));
                if (a > age)
                {
                    (resource, age) = (heard.Resource, a);
                }
            }
        }

        var tooOld = age > maxAge && maxAge > TimeSpan.Zero;
        if (Interlocked.Exchange(ref _tooOld, tooOld ? 1 : 0) != (tooOld ? 1 : 0))
        {
            if (tooOld)
            {
                Log.TooOld(logger, resource, age.TotalSeconds, maxAge.TotalSeconds);
            }
            else
            {
                Log.FreshAgain(logger);
            }
        }

        return tooOld;
    }

    // A loop, not Array.Find: Touch runs for every watch event, and the predicate would be a closure per call.
    private Heard? Find(string resource)
    {
        foreach (var heard in _all)
        {
            if (heard.Resource == resource)
            {
                return heard;
            }
        }

        return null;
    }

    private sealed class Heard(string resource)
    {
        public string Resource { get; } = resource;

        public long Timestamp;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "The view of {Resource} is {AgeSeconds:F0}s old, more than --max-view-age ({MaxAgeSeconds:F0}s): unready, and refusing to say who owns an IP until it is fresh again")]
        public static partial void TooOld(ILogger logger, string resource, double ageSeconds, double maxAgeSeconds);

        [LoggerMessage(2, LogLevel.Information, "The view of the cluster is fresh again: serving identities")]
        public static partial void FreshAgain(ILogger logger);
    }
}
