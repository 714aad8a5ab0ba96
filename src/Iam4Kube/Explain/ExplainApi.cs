using System.Net;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Iam4Kube.Stores;

namespace Iam4Kube.Explain;

/// <summary>
/// <c>GET /debug/explain?ip=IP</c> or <c>?pod=NAMESPACE/NAME</c> on the admin port: JSON by default, text with
/// <c>Accept: text/plain</c> or <c>?format=text</c>.
/// </summary>
internal static partial class ExplainApi
{
    public static IEndpointRouteBuilder MapExplainApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/debug/explain", Explain).WithMetadata(ServedOn.Admin, new MetricsRoute("explain"));
        return endpoints;
    }

    private static IResult Explain(HttpContext context, Explainer explainer, ILoggerFactory loggers)
    {
        var query = context.Request.Query;
        var (ip, pod, format) = (query["ip"], query["pod"], query["format"]);
        string? problem = null;
        Explanation? explanation = null;
        if (format.Count > 0 && format[0] is not ("text" or "json"))
        {
            problem = $"?format='{format[0]}': expected text or json";
        }
        else if (ip.Count + pod.Count != 1)
        {
            problem = "give exactly one of ?ip=IP or ?pod=NAMESPACE/NAME";
        }
        else if (ip.Count == 1)
        {
            if (IPAddress.TryParse(ip[0], out var address))
            {
                explanation = explainer.ForIp(address);
            }
            else
            {
                problem = $"?ip='{ip[0]}' is not an IP address";
            }
        }
        else if (pod[0]?.Split('/') is [{ Length: > 0 } ns, { Length: > 0 } name])
        {
            explanation = explainer.ForPod(new NamespacedName(ns, name));
        }
        else
        {
            problem = $"?pod='{pod[0]}' is not NAMESPACE/NAME";
        }

        if (explanation is null)
        {
            Log.BadQuery(loggers.CreateLogger(typeof(ExplainApi)), context.Request.QueryString.Value ?? "", problem!);
            return TypedResults.Text(problem + "\n", statusCode: StatusCodes.Status400BadRequest);
        }

        var text = format.Count > 0
            ? format[0] == "text"
            : context.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase));
        return text
            ? TypedResults.Text(ExplanationText.Render(explanation))
            : TypedResults.Json(explanation, ExplainJsonContext.Default.Explanation);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Refused /debug/explain{Query}: {Problem}")]
        public static partial void BadQuery(ILogger logger, string query, string problem);
    }
}
