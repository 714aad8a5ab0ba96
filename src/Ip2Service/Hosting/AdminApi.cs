using Ip2Service.Sync;
using Microsoft.AspNetCore.Http.HttpResults;
using Prometheus;

namespace Ip2Service.Hosting;

/// <summary>The admin HTTP endpoints on --admin-listen: liveness, readiness, Prometheus metrics.</summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app, CollectorRegistry registry)
    {
        app.MapGet("/healthz", () => TypedResults.Text("ok\n"));
        app.MapGet("/readyz", ReadyAsync);
        app.MapMetrics("/metrics", registry);
        return app;
    }

    private static ContentHttpResult ReadyAsync(Readiness readiness) =>
        readiness.IsReady
            ? TypedResults.Text("ready\n")
            : TypedResults.Text("not ready: the rules do not reflect a complete list of the Service's EndpointSlices yet\n", statusCode: StatusCodes.Status503ServiceUnavailable);
}
