using Ip2Service.Telemetry;

namespace Ip2Service.Sync;

/// <summary>Whether the rules reflect a complete list of the Service's EndpointSlices (/readyz). Once ready,
/// stays ready: later API trouble leaves the last good rules in place.</summary>
internal sealed class Readiness(Ip2ServiceMetrics metrics)
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Completes on the first successful sync.</summary>
    public Task WhenReady => _ready.Task;

    public void MarkReady()
    {
        if (_ready.TrySetResult())
        {
            metrics.Ready.Set(1);
        }
    }
}
