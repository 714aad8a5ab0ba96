using System.Collections.Concurrent;
using Prometheus;

namespace Iam4Kube.Observability;

/// <summary>Counts every metadata request by route and status, observes its latency, and logs it at debug.</summary>
internal sealed partial class RequestMetricsMiddleware(RequestDelegate next, Iam4KubeMetrics metrics, TimeProvider time, ILogger<RequestMetricsMiddleware> logger)
{
    // Labelled children looked up by (route, status) here rather than through WithLabels on every request (a label
    // array and prometheus-net's own lookup each time: bench/ scenario 7). Routes and statuses are a handful.
    private readonly ConcurrentDictionary<(string Route, int Status), Counter.Child> _requests = new();
    private readonly ConcurrentDictionary<string, Histogram.Child> _durations = new(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var route = context.GetEndpoint()?.Metadata.GetMetadata<MetricsRoute>()?.Name ?? "other";
            _requests.GetOrAdd((route, context.Response.StatusCode), static (key, m) => m.Requests.WithLabels(key.Route, StatusCodeLabel(key.Status)), metrics).Inc();
            var elapsed = time.GetElapsedTime(started);
            _durations.GetOrAdd(route, static (key, m) => m.RequestDuration.WithLabels(key), metrics).Observe(elapsed.TotalSeconds);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Log.Request(logger, context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress?.ToString() ?? "", context.Response.StatusCode, elapsed.TotalMilliseconds);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "{Method} {Path} from {SourceIp}: {Status} in {ElapsedMs:F2} ms")]
        public static partial void Request(ILogger logger, string method, string path, string sourceIp, int status, double elapsedMs);
    }

    // Status codes are few; cache their labels so the hot path does not format integers.
    private static string StatusCodeLabel(int status) => status switch
    {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        503 => "503",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
