using System.Collections.Concurrent;
using System.Net;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Outcomes;

/// <summary>
/// One structured line per credentials answer served or refused, with what joins it to CloudTrail (the
/// AccessKeyId and session name) and to Kubernetes (pod uid, ServiceAccount). SDKs ask for credentials every few
/// minutes from every process of every pod, so identical answers — same pod (or source IP when no pod), access key,
/// outcome and door — are logged once per <see cref="Window"/>: the first at once, the repeats counted and reported
/// by the next line of that answer or, at the latest, when the window closes. Never a secret: access key ids only.
/// </summary>
/// <remarks>
/// A repeat within the window is a dictionary hit and a counter increment: no allocation on the warm path
/// (AuditLogTests measures it). Entries live at most two windows, and at most <see cref="MaxEntries"/> are kept;
/// beyond that every answer is logged, undeduplicated, rather than forgotten.
/// </remarks>
internal sealed partial class AuditLog : IDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    public const int MaxEntries = 50_000;

    private readonly ConcurrentDictionary<Key, Entry> _entries = new();
    private readonly bool _enabled;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditLog> _logger;
    private readonly ITimer? _sweeper;

    public AuditLog(bool enabled, TimeProvider time, ILogger<AuditLog> logger)
    {
        _enabled = enabled;
        _time = time;
        _logger = logger;
        _sweeper = enabled ? time.CreateTimer(_ => Sweep(), null, Window, Window) : null;
    }

    /// <summary>Identical answers waiting to be reported (for tests and the bound).</summary>
    public int PendingEntries => _entries.Count;

    /// <summary>
    /// Records one credentials answer: <paramref name="accessKeyId"/> is the key served (null when refused),
    /// <paramref name="status"/> what the door answered, <paramref name="waited"/> how long the request took.
    /// </summary>
    public void Record(string door, Outcome outcome, int status, IPAddress sourceIp, PodInfo? pod, IamRole? role, string? accessKeyId, TimeSpan waited)
    {
        if (!_enabled || !_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var answer = new Answer(door, outcome, status, sourceIp, pod, role, accessKeyId);
        var key = new Key(pod?.Uid ?? (object)sourceIp, accessKeyId ?? "", outcome, door);
        var now = _time.GetTimestamp();
        while (true)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                if (_entries.Count >= MaxEntries)
                {
                    Write(answer, waited, repeats: 0);
                    return;
                }

                if (!_entries.TryAdd(key, new Entry(answer, now)))
                {
                    continue;
                }

                Write(answer, waited, repeats: 0);
                return;
            }

            int repeats;
            lock (entry.Gate)
            {
                if (entry.Closed)
                {
                    // The sweeper reported and removed it between our lookup and the lock: start a new window.
                    continue;
                }

                if (_time.GetElapsedTime(entry.WindowStarted, now) < Window)
                {
                    entry.Repeats++;
                    return;
                }

                // The window is over and the sweeper has not come by yet: this line reports the repeats.
                repeats = entry.Repeats;
                entry.Repeats = 0;
                entry.WindowStarted = now;
            }

            Write(answer, waited, repeats);
            return;
        }
    }

    /// <summary>Reports the repeats of every closed window, and forgets answers not seen for a whole window.</summary>
    public void Sweep() => Close(all: false);

    public void Dispose()
    {
        _sweeper?.Dispose();
        // Shutting down: what was counted but not yet reported is reported now.
        Close(all: true);
    }

    private void Close(bool all)
    {
        var now = _time.GetTimestamp();
        foreach (var (key, entry) in _entries)
        {
            int repeats;
            lock (entry.Gate)
            {
                if (!all && _time.GetElapsedTime(entry.WindowStarted, now) < Window)
                {
                    continue;
                }

                entry.Closed = true;
                repeats = entry.Repeats;
            }

            _entries.TryRemove(new KeyValuePair<Key, Entry>(key, entry));
            if (repeats > 0)
            {
                var answer = entry.First;
                Log.Repeated(_logger, repeats, answer.Outcome.Label, answer.Door, PodName(answer.Pod), answer.Pod?.Uid ?? "", answer.Pod?.ServiceAccount ?? "",
                    answer.SourceIp, answer.Role?.Arn.Value ?? "", answer.Role?.SessionName ?? "", answer.AccessKeyId ?? "", answer.Status, (int)Window.TotalSeconds);
            }
        }
    }

    private void Write(Answer answer, TimeSpan waited, int repeats) =>
        Log.Answered(_logger, answer.Outcome.Label, answer.Door, PodName(answer.Pod), answer.Pod?.Uid ?? "", answer.Pod?.ServiceAccount ?? "",
            answer.SourceIp, answer.Role?.Arn.Value ?? "", answer.Role?.SessionName ?? "", answer.AccessKeyId ?? "", answer.Status,
            Math.Round(waited.TotalMilliseconds, 1), repeats);

    private static string PodName(PodInfo? pod) => pod?.Name.ToString() ?? "";

    /// <summary>What makes two answers identical. <c>Who</c> is the pod uid, or the source IP when no pod was found.</summary>
    private readonly record struct Key(object Who, string AccessKeyId, Outcome Outcome, string Door);

    private readonly record struct Answer(string Door, Outcome Outcome, int Status, IPAddress SourceIp, PodInfo? Pod, IamRole? Role, string? AccessKeyId);

    private sealed class Entry(Answer first, long windowStarted)
    {
        public Lock Gate { get; } = new();

        public Answer First { get; } = first;

        public long WindowStarted { get; set; } = windowStarted;

        public int Repeats { get; set; }

        public bool Closed { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information,
            "Audit: {Outcome} on {Door} for pod {Pod} (uid {PodUid}, ServiceAccount {ServiceAccount}) at {SourceIp}: role {RoleArn} session {SessionName} access key {AccessKeyId}, status {Status} after {WaitMs} ms; {Repeats} identical answers since the previous line")]
        public static partial void Answered(ILogger logger, string outcome, string door, string pod, string podUid, string serviceAccount, IPAddress sourceIp,
            string roleArn, string sessionName, string accessKeyId, int status, double waitMs, int repeats);

        [LoggerMessage(2, LogLevel.Information,
            "Audit: {Repeats} more identical {Outcome} answers on {Door} for pod {Pod} (uid {PodUid}, ServiceAccount {ServiceAccount}) at {SourceIp}: role {RoleArn} session {SessionName} access key {AccessKeyId}, status {Status}, within {WindowSeconds} s")]
        public static partial void Repeated(ILogger logger, int repeats, string outcome, string door, string pod, string podUid, string serviceAccount, IPAddress sourceIp,
            string roleArn, string sessionName, string accessKeyId, int status, int windowSeconds);
    }
}
