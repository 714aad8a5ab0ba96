using System.Net;
using System.Runtime.CompilerServices;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>The faults a test has asked the fake API server to inject.</summary>
internal sealed class ApiFaults
{
    private readonly Lock _gate = new();
    private readonly List<Rule> _rules = [];
    private volatile bool _unavailable;
    private long _latencyTicks;

    private volatile StrongBox<ApiFault>? _watchFault;
    private volatile StrongBox<ApiFault>? _listFault;
    private volatile bool _stallWatches;

    /// <summary>Every watch request answered with this fault, until cleared.</summary>
    public ApiFault? WatchFault
    {
        get => _watchFault?.Value;
        set => _watchFault = value is { } fault ? new StrongBox<ApiFault>(fault) : null;
    }

    /// <summary>Every list request answered with this fault, until cleared.</summary>
    public ApiFault? ListFault
    {
        get => _listFault?.Value;
        set => _listFault = value is { } fault ? new StrongBox<ApiFault>(fault) : null;
    }

    /// <summary>Every watch accepted (200 and headers) and then never sent anything.</summary>
    public bool StallWatches
    {
        get => _stallWatches;
        set => _stallWatches = value;
    }

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
