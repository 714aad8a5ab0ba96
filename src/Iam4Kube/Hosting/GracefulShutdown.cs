using Iam4Kube.Waiting;

namespace Iam4Kube.Hosting;

/// <summary>
/// On SIGTERM: turn unready first, keep serving for the shutdown delay while the endpoint controller and
/// ip2service take this replica out of rotation, and only then let Kestrel drain in-flight requests and stop.
/// </summary>
internal sealed partial class GracefulShutdown(Readiness readiness, ParkedRequestBudget parked, Iam4KubeOptions options, TimeProvider time, ILogger<GracefulShutdown> logger)
    : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        readiness.BeginShutdown();
        Log.Unready(logger, options.ShutdownDelay, options.DrainTimeout);
        try
        {
            await Task.Delay(options.ShutdownDelay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // the host's own shutdown timeout cut the delay short
        }

        Log.Draining(logger);
        // Parked requests could wait longer than the drain allows and be cut off: answer them now (503, retry).
        parked.ReleaseAll();
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

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
    }
}
