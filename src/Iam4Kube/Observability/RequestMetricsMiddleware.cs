namespace Iam4Kube.Observability;

/// <summary>Counts every metadata request by route and status, and observes its latency.</summary>
internal sealed class RequestMetricsMiddleware(RequestDelegate next, Iam4KubeMetrics metrics, TimeProvider time)
{
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
            metrics.Requests.WithLabels(route, StatusCodeLabel(context.Response.StatusCode)).Inc();
            metrics.RequestDuration.WithLabels(route).Observe(time.GetElapsedTime(started).TotalSeconds);
        }
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
