using System.Net;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>The faults a test has asked the fake API server to inject.</summary>
internal sealed class ApiFaults
{
    private readonly Lock _gate = new();
    private readonly List<Rule> _rules = [];
    private volatile bool _unavailable;
    private long _latencyTicks;

    public bool Unavailable
    {
        get => _unavailable;
        set => _unavailable = value;
    }

    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    public void FailNext(int count, HttpStatusCode status, string? pathContains)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        lock (_gate)
        {
            _rules.Add(new Rule(status, pathContains) { Left = count });
        }
    }

    /// <summary>Takes one failure for this request (path and query), in the order the failures were asked for.</summary>
    public HttpStatusCode? TakeFailure(string pathAndQuery)
    {
        lock (_gate)
        {
            var rule = _rules.FirstOrDefault(r => r.PathContains is null || pathAndQuery.Contains(r.PathContains, StringComparison.Ordinal));
            if (rule is null)
            {
                return null;
            }

            if (--rule.Left == 0)
            {
                _rules.Remove(rule);
            }

            return rule.Status;
        }
    }

    private sealed record Rule(HttpStatusCode Status, string? PathContains)
    {
        public int Left { get; set; }
    }
}
