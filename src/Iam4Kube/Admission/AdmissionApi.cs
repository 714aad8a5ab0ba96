using System.Text.Json;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;

namespace Iam4Kube.Admission;

/// <summary>
/// The admission webhook door (HTTPS, <c>--webhook-listen</c>): every registered <see cref="IAdmissionReviewer"/>
/// on its path, AdmissionReview v1 in and out. A malformed review is answered 400 (kube-apiserver then applies the
/// configuration's failurePolicy); a reviewer's exception is a denial only if the reviewer says so, never here.
/// Every review is counted by verdict, and every denial logged (who, what, why; object contents never).
/// </summary>
internal static partial class AdmissionApi
{
    private const int MaxBody = 4 * 1024 * 1024;
    private static readonly ServedOn Webhook = new(Doors.Webhook);

    public static IEndpointRouteBuilder MapAdmissionApi(this IEndpointRouteBuilder endpoints, IEnumerable<IAdmissionReviewer> reviewers)
    {
        foreach (var reviewer in reviewers)
        {
            endpoints.MapPost(reviewer.Path, (HttpContext context, ILoggerFactory loggers, Iam4KubeMetrics metrics) => ReviewAsync(context, reviewer, loggers, metrics))
                .WithMetadata(Webhook, new MetricsRoute("admission" + reviewer.Path.Replace('/', '-')));
        }

        return endpoints;
    }

    private static async Task<IResult> ReviewAsync(HttpContext context, IAdmissionReviewer reviewer, ILoggerFactory loggers, Iam4KubeMetrics metrics)
    {
        // Pods with many containers are large; kube-apiserver caps requests at 3 MiB.
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = MaxBody;
        var logger = loggers.CreateLogger(typeof(AdmissionApi));
        AdmissionReview? review;
        try
        {
            review = await JsonSerializer.DeserializeAsync(context.Request.Body, AdmissionJsonContext.Default.AdmissionReview, context.RequestAborted);
        }
        catch (Exception e) when (e is JsonException or BadHttpRequestException)
        {
            Log.Malformed(logger, reviewer.Path, e.Message);
            metrics.AdmissionReviews.WithLabels(reviewer.Path, Verdicts.Malformed).Inc();
            return Results.Text($"not an AdmissionReview: {e.Message}", statusCode: StatusCodes.Status400BadRequest);
        }

        if (review is not { ApiVersion: AdmissionReview.Version, Request: { Uid.Length: > 0 } request })
        {
            Log.Malformed(logger, reviewer.Path, "no admission.k8s.io/v1 request with a uid");
            metrics.AdmissionReviews.WithLabels(reviewer.Path, Verdicts.Malformed).Inc();
            return Results.Text("expected an admission.k8s.io/v1 AdmissionReview with a request", statusCode: StatusCodes.Status400BadRequest);
        }

        var response = reviewer.Review(request);
        var verdict = response.Allowed ? (response.Patch is null ? Verdicts.Allowed : Verdicts.Patched) : Verdicts.Denied;
        metrics.AdmissionReviews.WithLabels(reviewer.Path, verdict).Inc();
        if (!response.Allowed)
        {
            Log.Denied(logger, request.Operation ?? "", request.Kind?.Kind ?? "", request.Namespace ?? "", AdmissionObject.NameOf(request), request.UserInfo?.Username ?? "",
                request.DryRun == true, reviewer.Path, response.Status?.Message ?? "");
        }

        return Results.Json(new AdmissionReview(AdmissionReview.Version, "AdmissionReview", null, response), AdmissionJsonContext.Default.AdmissionReview);
    }

    /// <summary>The verdict label of <c>iam4kube_admission_reviews_total</c>.</summary>
    internal static class Verdicts
    {
        public const string Allowed = "allowed";
        public const string Patched = "patched";
        public const string Denied = "denied";

        /// <summary>Not an AdmissionReview (answered 400; kube-apiserver applies the failurePolicy).</summary>
        public const string Malformed = "malformed";
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Refused a malformed admission review on {Path}: {Problem}")]
        public static partial void Malformed(ILogger logger, string path, string problem);

        [LoggerMessage(2, LogLevel.Warning, "Denied {Operation} of {Kind} {NamespaceName}/{Name} by {User} (dryRun {DryRun}) on {Path}: {Reason}")]
        public static partial void Denied(ILogger logger, string operation, string kind, string namespaceName, string name, string user, bool dryRun, string path, string reason);
    }
}
