using System.Runtime.InteropServices;
using Iam4Kube.Waiting;

namespace Iam4Kube.Hosting;

/// <summary>
/// On SIGTERM: turn unready first, keep serving for the shutdown delay while the endpoint controller and
/// ip2service take this replica out of rotation, and only then let Kestrel drain in-flight requests and stop.
/// A second SIGTERM or Ctrl-C cuts the delay short: whoever sends it wants the process gone now.
/// </summary>
internal sealed partial class GracefulShutdown(Readiness readiness, ParkedRequestBudget parked, Iam4KubeOptions options, TimeProvider time, ILogger<GracefulShutdown> logger)
    : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _hurry = new();
    private readonly List<PosixSignalRegistration> _signals = [];
    private int _signalCount;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        readiness.BeginShutdown();
        Log.Unready(logger, options.ShutdownDelay, options.DrainTimeout);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _hurry.Token);
        try
        {
            await Task.Delay(options.ShutdownDelay, time, either.Token);
        }
        catch (OperationCanceledException)
        {
            // a second signal, or the host's own shutdown timeout, cut the delay short
        }

        Log.Draining(logger);
        // Parked requests could wait longer than the drain allows and be cut off: answer them now (503, retry).
        parked.ReleaseAll();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Alongside the host's own handlers, which turn the first signal into a graceful stop; these only count.
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT })
        {
            _signals.Add(PosixSignalRegistration.Create(signal, OnSignal));
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var registration in _signals)
        {
            registration.Dispose();
        }

        _hurry.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signalCount) == 2)
        {
            Log.Hurried(logger, context.Signal);
            _hurry.Cancel();
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Shutting down: unready now, serving for {ShutdownDelay} more, then draining for at most {DrainTimeout}")]
        public static partial void Unready(ILogger logger, TimeSpan shutdownDelay, TimeSpan drainTimeout);

        [LoggerMessage(2, LogLevel.Information, "Draining in-flight requests")]
        public static partial void Draining(ILogger logger);

        [LoggerMessage(3, LogLevel.Information, "Second {Signal}: skipping the rest of the shutdown delay")]
        public static partial void Hurried(ILogger logger, PosixSignal signal);
    }
}
