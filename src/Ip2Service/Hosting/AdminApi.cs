using Iam4Kube.Shared;
using Ip2Service.Sync;
using Prometheus;

namespace Ip2Service.Hosting;

/// <summary>The admin HTTP endpoints on --admin-listen: liveness, readiness, Prometheus metrics (the shared mapping,
/// ip2service's words).</summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app, CollectorRegistry registry)
    {
        app.MapAdminEndpoints(registry, "ok\n", context => context.RequestServices.GetRequiredService<Readiness>().IsReady
            ? new AdminReadiness(true, "ready\n")
            : new AdminReadiness(false, "not ready: the rules do not reflect a complete list of the Service's EndpointSlices yet\n"));
        return app;
    }
}
