using System.Net;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Iam4Kube.Stores;

namespace Iam4Kube.Explain;

/// <summary>
/// <c>GET /debug/explain?ip=IP</c> or <c>?pod=NAMESPACE/NAME</c> on the admin port: JSON by default, text with
/// <c>Accept: text/plain</c> or <c>?format=text</c>. Answered only to loopback callers: the admin port is also
/// reachable through the Service's metrics port, and every pod's role, annotations and access key id are not every
/// pod's business. <c>kubectl exec</c> into a replica and <c>kubectl port-forward</c> both arrive from loopback.
/// </summary>
internal static partial class ExplainApi
{
    public static IEndpointRouteBuilder MapExplainApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/debug/explain", Explain).WithMetadata(ServedOn.Admin, new MetricsRoute("explain"));
        return endpoints;
    }

    /// <summary>Whether a caller may ask: only from the replica itself (exec, port-forward).</summary>
    internal static bool MayAsk(IPAddress? caller) => caller is not null && IPAddress.IsLoopback(caller.IsIPv4MappedToIPv6 ? caller.MapToIPv4() : caller);

    private static IResult Explain(HttpContext context, Explainer explainer, ILoggerFactory loggers)
    {
        if (!MayAsk(context.Connection.RemoteIpAddress))
        {
            Log.NotLoopback(loggers.CreateLogger(typeof(ExplainApi)), context.Connection.RemoteIpAddress?.ToString() ?? "");
            return TypedResults.Text("/debug/explain answers only on loopback: kubectl exec into a replica, or kubectl port-forward\n",
                statusCode: StatusCodes.Status403Forbidden);
        }

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

        [LoggerMessage(2, LogLevel.Warning, "Refused /debug/explain to {Caller}: only loopback callers may ask")]
        public static partial void NotLoopback(ILogger logger, string caller);
    }
}
