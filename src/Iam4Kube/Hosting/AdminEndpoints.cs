using Prometheus;

namespace Iam4Kube.Hosting;

/// <summary>
/// iam4kube's admin endpoints: <c>/healthz</c> (the process answers), <c>/readyz</c> (200 when ready, 503 when not,
/// with the given text) and <c>/metrics</c> (the Prometheus registry). ip2service gives the same answers in its own
/// words without ASP.NET Core (src/Ip2Service/Admin, Hosting/AdminApi.cs: issue 15, its footprint), so this lives
/// with iam4kube since ip2service stopped mapping it.
/// </summary>
internal static class AdminEndpoints
{
    /// <param name="endpoints">The admin listener's routes.</param>
    /// <param name="registry">The binary's metrics, served on <c>/metrics</c>.</param>
    /// <param name="alive">The body of <c>/healthz</c>.</param>
    /// <param name="readiness">The answer of <c>/readyz</c> to one request (the caller may matter: iam4kube names
    /// roles only to loopback callers).</param>
    /// <returns>The three endpoints, to add conventions to (iam4kube: answer only on the admin door).</returns>
    public static IEndpointConventionBuilder MapAdminEndpoints(
        this IEndpointRouteBuilder endpoints, CollectorRegistry registry, string alive, Func<HttpContext, AdminReadiness> readiness) =>
        new Conventions(
        [
            endpoints.MapGet("/healthz", () => TypedResults.Text(alive)),
            endpoints.MapGet("/readyz", (HttpContext context) => readiness(context) is var answer && answer.Ready
                ? TypedResults.Text(answer.Text)
                : TypedResults.Text(answer.Text, statusCode: StatusCodes.Status503ServiceUnavailable)),
            endpoints.MapMetrics("/metrics", registry),
        ]);

    private sealed class Conventions(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders)
            {
                builder.Finally(finallyConvention);
            }
        }
    }
}

/// <summary>What <c>/readyz</c> answers: 200 with <paramref name="Text"/> when <paramref name="Ready"/>, else 503.</summary>
internal readonly record struct AdminReadiness(bool Ready, string Text);
