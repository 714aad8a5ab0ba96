using System.Net;
using System.Runtime.CompilerServices;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>The faults a test has asked the fake API server to inject.</summary>
internal sealed class ApiFaults
{
    private readonly Lock _gate = new();
    private readonly List<Rule> _rules = [];
    private readonly List<(string Method, string PathContains, Action Action)> _interjections = [];
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

    /// <summary>Runs <paramref name="action"/> once, when the next <paramref name="method"/> request whose path
    /// contains <paramref name="pathContains"/> arrives, before it is served.</summary>
    public void InterjectBefore(string method, string pathContains, Action action)
    {
        lock (_gate)
        {
            _interjections.Add((method, pathContains, action));
        }
    }

    /// <summary>Takes the first interjection waiting for this request, if any.</summary>
    public Action? TakeInterjection(string method, string path)
    {
        lock (_gate)
        {
            var index = _interjections.FindIndex(i => i.Method == method && path.Contains(i.PathContains, StringComparison.Ordinal));
            if (index < 0)
            {
                return null;
            }

            var action = _interjections[index].Action;
            _interjections.RemoveAt(index);
            return action;
        }
    }

    private sealed record Rule(HttpStatusCode Status, string? PathContains)
    {
        public int Left { get; set; }
    }
}
