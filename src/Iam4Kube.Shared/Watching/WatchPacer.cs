namespace Iam4Kube.Watching;

/// <summary>
/// Decides, after each list or watch, how long to wait and whether to list again: the one policy iam4kube's informers
/// and ip2service's EndpointSlice watch share (docs/operations.md, "Staleness").
/// <list type="bullet">
/// <item>A watch that made progress (an event or BOOKMARK, and lasted a moment) resets everything: the next failure
/// is handled at once, because one 410 after compaction or one dropped connection is normal.</item>
/// <item>Failures in a row after that are spaced like client-go's reflector: 800 ms doubling to 30 s (±20 %), so a
/// persistent fault costs the API server at most a few lists a minute.</item>
/// <item>Except while the server does not answer at all (or answers 502/503): retrying then costs it nothing, so it
/// is retried about every second and the view is fresh again within about a second of its return.</item>
/// <item>410, 504 ResourceVersionTooLarge and a 400/422 about the resourceVersion lead to a relist; so do a few
/// watches in a row that brought nothing (silent, stalled, or ended at once).</item>
/// </list>
/// Reports a change of condition once, not once per attempt, so a persistent fault does not flood the logs.
/// Not thread-safe: one per watch loop.
/// </summary>
internal sealed class WatchPacer(WatchSettings settings)
{
    private const string HealthyCondition = "healthy";

    // A watch shorter than this that brought something is not yet proof of health (a server replaying then failing).
    private static readonly TimeSpan MinHealthyWatch = TimeSpan.FromSeconds(1);

    private readonly Backoff _backoff = new(settings.InitialBackoff, settings.MaxBackoff);
    private int _failuresInARow;
    private int _outagesInARow;
    private int _fruitless;
    private string _condition = HealthyCondition;

    /// <summary>What to do next. <paramref name="RelistReason"/>: list again (the metric label), else resume the watch.
    /// <paramref name="Degraded"/>: the new condition when it just changed, to log once.</summary>
    internal readonly record struct Step(TimeSpan Delay, string? RelistReason, string Label, string? Degraded = null, bool Recovered = false);

    /// <summary>A list succeeded: watches start counting again.</summary>
    public void Listed() => _fruitless = 0;

    /// <summary>
    /// A watch ended by us, not by the server (a store asked for a relist). If it heard anything it was healthy,
    /// however short: under frequent requested relists no watch lasts long, and without this a dropped connection
    /// now and then would climb the backoff (0.8 s, 1.6 s, 3.2 s...) while the pod→IP map goes stale.
    /// </summary>
    public void EndedForRelist(int heard)
    {
        if (heard > 0)
        {
            (_failuresInARow, _outagesInARow) = (0, 0);
            _backoff.Reset();
        }
    }

    public Step AfterWatch(int heard, TimeSpan lasted, Exception? error, bool wentIdle)
    {
        if (heard > 0)
        {
            _fruitless = 0;
            if (lasted >= MinHealthyWatch || error is null)
            {
                (_failuresInARow, _outagesInARow) = (0, 0);
                _backoff.Reset();
            }
        }

        if (error is not null)
        {
            var failure = WatchFailures.Classify(error);
            var degraded = Degrade(failure.Label());
            if (failure.NeedsRelist())
            {
                // Resuming from this resourceVersion can never work.
                return new Step(Spaced(), failure.Label(), failure.Label(), degraded);
            }

            return failure.IsOutage()
                ? new Step(OutageDelay(), null, failure.Label(), degraded)
                : NoProgress(heard, backoff: true, failure.Label(), degraded);
        }

        if (wentIdle)
        {
            // The connection is dead or the server stalled: a new watch at once, a relist if that keeps happening.
            return NoProgress(heard, backoff: false, "idle", Degrade("idle"));
        }

        if (heard > 0)
        {
            var recovered = _condition != HealthyCondition;
            _condition = HealthyCondition;
            return new Step(TimeSpan.Zero, null, "closed", Recovered: recovered);
        }

        // Closed with nothing at all: a server in trouble if it ends at once (back off); one that lasted its timeout
        // without even the pre-timeout BOOKMARK is no proof of life either.
        return NoProgress(0, backoff: lasted < settings.IdleTimeout / 4, "closed", null);
    }

    public Step AfterListFailure(Exception error)
    {
        var failure = WatchFailures.Classify(error);
        var degraded = Degrade("list_" + failure.Label());
        return new Step(failure.IsOutage() ? OutageDelay() : Spaced(), "retry", failure.Label(), degraded);
    }

    private Step NoProgress(int heard, bool backoff, string label, string? degraded)
    {
        if (heard == 0 && ++_fruitless >= settings.FruitlessWatchesBeforeRelist)
        {
            _fruitless = 0;
            return new Step(Spaced(), "no_progress", label, degraded);
        }

        return new Step(backoff ? Spaced() : TimeSpan.Zero, null, label, degraded);
    }

    private TimeSpan Spaced() => _failuresInARow++ == 0 ? TimeSpan.Zero : _backoff.Next();

    // Counted apart from answered failures: a dropped connection followed by a 410 is the normal way out of a
    // compaction, and the relist after it must not wait. The first drop after a healthy watch is resumed at once
    // (every moment without a watch is a moment the pod→IP map can be stale); only drops in a row wait.
    private TimeSpan OutageDelay() =>
        _outagesInARow++ == 0 ? TimeSpan.Zero : settings.OutageRetry * (0.5 + (Random.Shared.NextDouble() * 0.5));

    private string? Degrade(string condition)
    {
        if (condition == _condition)
        {
            return null;
        }

        _condition = condition;
        return condition;
    }
}
