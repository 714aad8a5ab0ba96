using System.Text.Json;
using System.Threading.Channels;
using Iam4Kube.Cluster;
using Iam4Kube.Stores;
using Iam4Kube.Watching;
using k8s;
using k8s.Models;

namespace Iam4Kube.Observability;

/// <summary>
/// Writes pod Events to the API server, deduplicated: at most one Event per pod and reason every ten minutes,
/// with repeats aggregated into its count, so SDKs refreshing every few minutes on thousands of pods cannot flood
/// the API server. A single loop owns all state; requests only enqueue.
/// </summary>
internal sealed partial class KubernetesPodEvents(KubernetesApi client, Iam4KubeMetrics metrics, TimeProvider time, ILogger<KubernetesPodEvents> logger)
    : BackgroundService, IPodEvents
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);
    private const int MaxTracked = 50_000;
    private const int QueueCapacity = 10_000;

    private readonly Channel<Occurrence> _occurrences = Channel.CreateBounded<Occurrence>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly Dictionary<(string Uid, PodEventReason Reason), Series> _series = [];
    private readonly string _instance = Environment.MachineName;

    public void Record(PodInfo pod, PodEventReason reason, string message)
    {
        if (!_occurrences.Writer.TryWrite(new Occurrence(pod, reason, message, time.GetUtcNow())))
        {
            metrics.EventsDropped.Inc();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var occurrence in _occurrences.Reader.ReadAllAsync(stoppingToken))
            {
                await HandleAsync(occurrence, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private async Task HandleAsync(Occurrence occurrence, CancellationToken cancellationToken)
    {
        var key = (occurrence.Pod.Uid, occurrence.Reason);
        if (_series.TryGetValue(key, out var series) && occurrence.At - series.WrittenAt < Window)
        {
            // Within the window: only count it; the next write after the window carries the total.
            series.Unwritten++;
            return;
        }

        if (series is null)
        {
            if (_series.Count >= MaxTracked)
            {
                Prune(occurrence.At);
            }

            series = new Series(occurrence.Pod, occurrence.Reason, occurrence.At);
            _series[key] = series;
        }

        series.Count += series.Unwritten + 1;
        series.Unwritten = 0;
        series.WrittenAt = occurrence.At;
        try
        {
            if (series.EventName is null)
            {
                series.EventName = await CreateAsync(series, occurrence.Message, cancellationToken);
            }
            else
            {
                await UpdateAsync(series, occurrence.Message, cancellationToken);
            }

            metrics.EventsWritten.WithLabels(occurrence.Reason.ToString()).Inc();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            metrics.EventsDropped.Inc();
            series.EventName = null;
            Log.EventFailed(logger, occurrence.Reason.ToString(), occurrence.Pod.Name.ToString(), e.Message);
        }
    }

    private async Task<string> CreateAsync(Series series, string message, CancellationToken cancellationToken)
    {
        var pod = series.Pod;
        var now = series.WrittenAt.UtcDateTime;
        var created = await client.CreateNamespacedEventAsync(
            new Corev1Event
            {
                Metadata = new V1ObjectMeta { GenerateName = pod.Name.Name + ".", NamespaceProperty = pod.Name.Namespace },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = "v1",
                    Kind = "Pod",
                    Name = pod.Name.Name,
                    NamespaceProperty = pod.Name.Namespace,
                    Uid = pod.Uid,
                },
                Reason = series.Reason.ToString(),
                Message = message,
                Type = IsWarning(series.Reason) ? "Warning" : "Normal",
                Count = series.Count,
                FirstTimestamp = series.FirstAt.UtcDateTime,
                LastTimestamp = now,
                Source = new V1EventSource { Component = "iam4kube" },
                ReportingComponent = "iam4kube",
                ReportingInstance = _instance,
            },
            pod.Name.Namespace,
            cancellationToken);
        return created.Metadata.Name;
    }

    private async Task UpdateAsync(Series series, string message, CancellationToken cancellationToken)
    {
        var patch = JsonSerializer.Serialize(new EventPatch(series.Count, series.WrittenAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture), message),
            EventPatchJsonContext.Default.EventPatch);
        await client.PatchNamespacedEventAsync(patch, series.EventName!, series.Pod.Name.Namespace, cancellationToken);
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var key in _series.Where(s => now - s.Value.WrittenAt >= Window).Select(s => s.Key).ToList())
        {
            _series.Remove(key);
        }
    }

    // Everything but the two "it worked" reasons is a Warning (LoggedPodEvents logs the same split).
    private static bool IsWarning(PodEventReason reason) =>
        reason is not (PodEventReason.IamRoleFound or PodEventReason.IamCredentialsServed);

    private sealed record Occurrence(PodInfo Pod, PodEventReason Reason, string Message, DateTimeOffset At);

    private sealed class Series(PodInfo pod, PodEventReason reason, DateTimeOffset firstAt)
    {
        public PodInfo Pod => pod;

        public PodEventReason Reason => reason;

        public DateTimeOffset FirstAt { get; } = firstAt;

        public DateTimeOffset WrittenAt { get; set; } = firstAt;

        public int Count { get; set; }

        public int Unwritten { get; set; }

        public string? EventName { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not record event {Reason} on pod {Pod}: {Error}")]
        public static partial void EventFailed(ILogger logger, string reason, string pod, string error);
    }
}

internal sealed record EventPatch(
    [property: System.Text.Json.Serialization.JsonPropertyName("count")] int Count,
    [property: System.Text.Json.Serialization.JsonPropertyName("lastTimestamp")] string LastTimestamp,
    [property: System.Text.Json.Serialization.JsonPropertyName("message")] string Message);

[System.Text.Json.Serialization.JsonSerializable(typeof(EventPatch))]
internal sealed partial class EventPatchJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
