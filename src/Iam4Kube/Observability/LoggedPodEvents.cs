using Iam4Kube.Stores;

namespace Iam4Kube.Observability;

/// <summary>
/// Local mode has no API server to write Events to: what would be an Event on the pod goes to the log instead, so
/// a developer sees what <c>kubectl describe pod</c> would show in a cluster. Deduplicated as the cluster's Events
/// are (<see cref="KubernetesPodEvents.Window"/>): at most one line per pod and reason every ten minutes, the next
/// one saying how many were folded into it, so that an SDK polling in a loop does not fill the terminal.
/// </summary>
internal sealed partial class LoggedPodEvents(TimeProvider time, ILogger<LoggedPodEvents> logger) : IPodEvents
{
    private const int MaxTracked = 50_000;

    private readonly Dictionary<(string Uid, PodEventReason Reason), (DateTimeOffset LoggedAt, int Folded)> _series = [];

    public void Record(PodInfo pod, PodEventReason reason, string message)
    {
        var now = time.GetUtcNow();
        int folded;
        lock (_series)
        {
            var key = (pod.Uid, reason);
            if (_series.TryGetValue(key, out var series) && now - series.LoggedAt < KubernetesPodEvents.Window)
            {
                _series[key] = series with { Folded = series.Folded + 1 };
                return;
            }

            if (_series.Count >= MaxTracked)
            {
                // Local mode holds a handful of pods; this only bounds memory against a runaway cluster file.
                _series.Clear();
            }

            folded = series.Folded;
            _series[key] = (now, 0);
        }

        var repeats = folded == 0 ? "" : $" (and {folded} more in the last {KubernetesPodEvents.Window.TotalMinutes:0} minutes)";
        if (reason is PodEventReason.IamRoleFound or PodEventReason.IamCredentialsServed)
        {
            Log.Normal(logger, pod.Name.ToString(), reason, message, repeats);
        }
        else
        {
            Log.Warning(logger, pod.Name.ToString(), reason, message, repeats);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Pod {Pod}: {Reason}: {Message}{Repeats}")]
        public static partial void Normal(ILogger logger, string pod, PodEventReason reason, string message, string repeats);

        [LoggerMessage(2, LogLevel.Warning, "Pod {Pod}: {Reason}: {Message}{Repeats}")]
        public static partial void Warning(ILogger logger, string pod, PodEventReason reason, string message, string repeats);
    }
}
