namespace Iam4Kube.Hosting;

/// <summary>Compacts the managed heap once and returns its free space to the operating system.</summary>
internal delegate void CompactHeap();

/// <summary>
/// Once readiness first latches, compacts the heap and returns what the first sync left behind. Listing every pod
/// and fetching every role's first credentials allocates in a burst (list pages, STS requests, TLS buffers) whose
/// garbage the GC keeps committed as free space: 10,000 pods and 2,000 roles leave about 35 MiB of it beside 14 MiB
/// of live data (docs/benchmarks.md, "Issue 15: the sync burst's memory"). One blocking collection, at the moment the
/// replica is about to join the Service and before its traffic arrives (the endpoint update takes longer than the
/// pause), gives it back; afterwards the heap only grows with the cluster.
/// </summary>
internal sealed partial class FirstSyncCompaction(Readiness readiness, CompactHeap compact, ILogger<FirstSyncCompaction> logger) : BackgroundService
{
    /// <summary>What production runs: a full, blocking, compacting collection that also decommits the free space.</summary>
    public static void Aggressive() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.Latched.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return; // stopped before the first sync completed: nothing to give back
        }

        var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var pausedBefore = GC.GetTotalPauseDuration();
        compact();
        var after = GC.GetGCMemoryInfo().TotalCommittedBytes;
        Log.Compacted(logger, Mebibytes(before), Mebibytes(after), (GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds);
    }

    private static double Mebibytes(long bytes) => Math.Round(bytes / (1024.0 * 1024.0), 1);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Ready: compacted the heap after the first sync, committed {CommittedBeforeMiB} MiB -> {CommittedAfterMiB} MiB, GC pause {PauseMs:F1} ms")]
        public static partial void Compacted(ILogger logger, double committedBeforeMiB, double committedAfterMiB, double pauseMs);
    }
}
