using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Autorest;

namespace Iam4Kube.Watching;

/// <summary>What a failed list or watch tells about the next step.</summary>
internal enum WatchFailure
{
    /// <summary>No HTTP answer at all (refused, reset, unreachable, timed out): retrying costs the API server nothing.</summary>
    Unanswered,

    /// <summary>503 or 502: the API server (or a load balancer in front of it) is not serving yet.</summary>
    Unavailable,

    /// <summary>410 Gone: the resourceVersion was compacted away; only a new list can continue.</summary>
    Expired,

    /// <summary>504 with the ResourceVersionTooLarge cause: the server is behind our resourceVersion (an etcd restore, a
    /// lagging replica); waiting may never help, a list from "now" does.</summary>
    ResourceVersionTooLarge,

    /// <summary>400 or 422 about the resourceVersion: resuming from it can never work.</summary>
    ResourceVersionRejected,

    /// <summary>Any other answered error (429, 500, 403, ...).</summary>
    Answered,
}

internal static class WatchFailures
{
    /// <summary>Failures after which resuming from the same resourceVersion cannot work: list again.</summary>
    public static bool NeedsRelist(this WatchFailure failure) =>
        failure is WatchFailure.Expired or WatchFailure.ResourceVersionTooLarge or WatchFailure.ResourceVersionRejected;

    /// <summary>Failures that say nothing about the API server's load, so a retry need not wait long.</summary>
    public static bool IsOutage(this WatchFailure failure) => failure is WatchFailure.Unanswered or WatchFailure.Unavailable;

    /// <summary>The metric label and log word for a failure.</summary>
    public static string Label(this WatchFailure failure) => failure switch
    {
        WatchFailure.Unanswered => "unanswered",
        WatchFailure.Unavailable => "unavailable",
        WatchFailure.Expired => "expired",
        WatchFailure.ResourceVersionTooLarge => "resource_version_too_large",
        WatchFailure.ResourceVersionRejected => "resource_version_rejected",
        _ => "error",
    };

    /// <summary>
    /// Classifies an in-band watch ERROR (a Status in a 200 stream: <see cref="KubernetesException"/>) or a failed
    /// request (<see cref="HttpOperationException"/> with the Status as its body, or a transport error).
    /// </summary>
    public static WatchFailure Classify(Exception error) => error switch
    {
        KubernetesException { Status: { } status } => FromStatus(
            status.Code ?? 0,
            status.Details?.Causes?.Any(c => c.Reason == "ResourceVersionTooLarge") == true || Mentions(status.Message, "Too large resource version"),
            Mentions(status.Message, "resource version") || Mentions(status.Message, "resourceVersion")
                || status.Details?.Causes?.Any(c => c.Field == "resourceVersion") == true),
        HttpOperationException { Response: { } response } => FromStatus(
            (int)response.StatusCode,
            Mentions(response.Content, "ResourceVersionTooLarge") || Mentions(response.Content, "Too large resource version"),
            Mentions(response.Content, "resource version") || Mentions(response.Content, "resourceVersion")),
        HttpRequestException { StatusCode: { } code } => FromStatus((int)code, tooLarge: false, aboutResourceVersion: false),
        HttpRequestException or SocketException or IOException or TimeoutException or OperationCanceledException => WatchFailure.Unanswered,
        _ when error.InnerException is { } inner => Classify(inner),
        _ => WatchFailure.Answered,
    };

    private static WatchFailure FromStatus(int code, bool tooLarge, bool aboutResourceVersion) => code switch
    {
        (int)HttpStatusCode.Gone => WatchFailure.Expired,
        (int)HttpStatusCode.GatewayTimeout when tooLarge => WatchFailure.ResourceVersionTooLarge,
        (int)HttpStatusCode.BadRequest or (int)HttpStatusCode.UnprocessableEntity when aboutResourceVersion => WatchFailure.ResourceVersionRejected,
        (int)HttpStatusCode.ServiceUnavailable or (int)HttpStatusCode.BadGateway => WatchFailure.Unavailable,
        0 => WatchFailure.Unanswered,
        _ => WatchFailure.Answered,
    };

    private static bool Mentions(string? text, string what) => text?.Contains(what, StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A short description for logs: the status and reason, never a body that could hold more.</summary>
    public static string Describe(Exception e) => e switch
    {
        KubernetesException { Status: { } s } => $"{s.Code} {s.Reason}: {s.Message}",
        HttpOperationException { Response: { } r } => $"HTTP {(int)r.StatusCode} {r.ReasonPhrase}",
        _ => e.Message,
    };
}
