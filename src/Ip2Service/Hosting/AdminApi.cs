using System.Net.Http.Headers;
using Ip2Service.Admin;
using Ip2Service.Sync;
using Prometheus;

namespace Ip2Service.Hosting;

/// <summary>The admin HTTP endpoints on --admin-listen: liveness, readiness, Prometheus metrics, answered as they were
/// when ASP.NET Core served them (status, content type, body): paths match ignoring case and a trailing slash, an
/// unknown path is 404, another method than GET (or HEAD) 405, and /metrics negotiates the exposition format from
/// Accept (or an "accept" query parameter) as prometheus-net's middleware does.</summary>
internal sealed class AdminApi(CollectorRegistry registry, Readiness readiness)
{
    private static readonly AdminResponse Alive = AdminResponse.Text(200, "ok\n");
    private static readonly AdminResponse Ready = AdminResponse.Text(200, "ready\n");
    private static readonly AdminResponse NotReady = AdminResponse.Text(503, "not ready: the rules do not reflect a complete list of the Service's EndpointSlices yet\n");
    private static readonly AdminResponse MethodNotAllowed = new(405, null, ReadOnlyMemory<byte>.Empty, Allow: "GET, HEAD");

    public async ValueTask<AdminResponse> AnswerAsync(AdminRequest request, CancellationToken cancellationToken)
    {
        var path = request.Path.Length > 1 ? request.Path.TrimEnd('/') : request.Path;
        Func<CancellationToken, ValueTask<AdminResponse>>? endpoint =
            path.Equals("/healthz", StringComparison.OrdinalIgnoreCase) ? _ => ValueTask.FromResult(Alive)
            : path.Equals("/readyz", StringComparison.OrdinalIgnoreCase) ? _ => ValueTask.FromResult(readiness.IsReady ? Ready : NotReady)
            : path.Equals("/metrics", StringComparison.OrdinalIgnoreCase) ? ct => MetricsAsync(request, ct)
            : null;
        if (endpoint is null)
        {
            return AdminResponse.Empty(404);
        }
        return request.Method is "GET" or "HEAD" ? await endpoint(cancellationToken) : MethodNotAllowed;
    }

    private async ValueTask<AdminResponse> MetricsAsync(AdminRequest request, CancellationToken cancellationToken)
    {
        var (format, contentType) = Negotiate(request);
        using var body = new MemoryStream();
        try
        {
            await registry.CollectAndExportAsTextAsync(body, format, cancellationToken);
        }
        catch (ScrapeFailedException e)
        {
            // As the middleware: a collection callback refused the scrape (none in ip2service registers one).
            return string.IsNullOrWhiteSpace(e.Message) ? AdminResponse.Empty(503) : new AdminResponse(503, null, System.Text.Encoding.UTF8.GetBytes(e.Message));
        }
        return new AdminResponse(200, contentType, body.ToArray());
    }

    /// <summary>The text format unless OpenMetrics is asked for before it (by quality), as prometheus-net's
    /// middleware with its default settings.</summary>
    private static (ExpositionFormat Format, string ContentType) Negotiate(AdminRequest request)
    {
        var accept = request.Accept;
        var fromQuery = request.Query.Split('&')
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2 && Uri.UnescapeDataString(p[0].Replace('+', ' ')) == "accept")
            .Select(p => Uri.UnescapeDataString(p[1].Replace('+', ' ')))
            .ToList();
        if (fromQuery.Count > 0)
        {
            accept = string.Join(",", fromQuery);
        }
        var candidates = accept.Split(',')
            .Select(c => MediaTypeWithQualityHeaderValue.TryParse(c, out var mediaType) ? mediaType : null)
            .OfType<MediaTypeWithQualityHeaderValue>()
            .OrderByDescending(m => m.Quality.GetValueOrDefault(1));
        foreach (var candidate in candidates)
        {
            if (candidate.MediaType == "text/plain")
            {
                break;
            }
            if (candidate.MediaType == "application/openmetrics-text")
            {
                return (ExpositionFormat.OpenMetricsText, "application/openmetrics-text; version=1.0.0; charset=utf-8");
            }
        }
        return (ExpositionFormat.PrometheusText, "text/plain; version=0.0.4; charset=utf-8");
    }
}
