using System.Net;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// A failure the fake API server answers with a <c>Status</c> object, shaped as kube-apiserver's
/// <c>k8s.io/apimachinery/pkg/api/errors</c> builds them.
/// </summary>
internal sealed class ApiStatusException : Exception
{
    public ApiStatusException(
        HttpStatusCode code,
        string reason,
        string message,
        string? name = null,
        string? group = null,
        string? kind = null,
        string? inconsistentContinue = null,
        string? causeReason = null,
        string? causeMessage = null,
        string? causeField = null,
        int retryAfterSeconds = 0)
        : base(message)
    {
        CauseReason = causeReason;
        CauseMessage = causeMessage;
        CauseField = causeField;
        RetryAfterSeconds = retryAfterSeconds;
        Code = code;
        Reason = reason;
        Name = name;
        Group = group;
        Kind = kind;
        InconsistentContinue = inconsistentContinue;
    }

    public HttpStatusCode Code { get; }

    public string Reason { get; }

    public string? Name { get; }

    public string? Group { get; }

    public string? Kind { get; }

    /// <summary>The continue token an expired list hands back for an inconsistent remainder.</summary>
    public string? InconsistentContinue { get; }

    /// <summary>details.causes[0].reason (e.g. ResourceVersionTooLarge, FieldValueInvalid), when there is one.</summary>
    public string? CauseReason { get; }

    public string? CauseMessage { get; }

    public string? CauseField { get; }

    /// <summary>details.retryAfterSeconds (and the Retry-After header), when above zero.</summary>
    public int RetryAfterSeconds { get; }

    /// <summary>
    /// What kube-apiserver answers for a resourceVersion newer than it has (storage.NewTooLargeResourceVersionError:
    /// after an etcd restore, or from a lagging replica): 504 Timeout with the ResourceVersionTooLarge cause.
    /// </summary>
    public static ApiStatusException TooLargeResourceVersion(long requested, long current) =>
        new(
            HttpStatusCode.GatewayTimeout,
            "Timeout",
            $"Timeout: Too large resource version: {requested}, current: {current}",
            causeReason: "ResourceVersionTooLarge",
            causeMessage: "Too large resource version",
            retryAfterSeconds: 1);

    /// <summary>What kube-apiserver answers for a resourceVersion it cannot parse (or refuses for this request).</summary>
    public static ApiStatusException InvalidResourceVersion(string resourceVersion) =>
        new(
            HttpStatusCode.BadRequest,
            "BadRequest",
            $"invalid resource version: \"{resourceVersion}\"",
            causeReason: "FieldValueInvalid",
            causeMessage: $"Invalid value: \"{resourceVersion}\": invalid resource version",
            causeField: "resourceVersion");

    public static ApiStatusException NotFound(ResourceKind kind, string name) =>
        new(HttpStatusCode.NotFound, "NotFound", $"{kind} \"{name}\" not found", name, NullIfEmpty(kind.Group), kind.Plural);

    public static ApiStatusException AlreadyExists(ResourceKind kind, string name) =>
        new(HttpStatusCode.Conflict, "AlreadyExists", $"{kind} \"{name}\" already exists", name, NullIfEmpty(kind.Group), kind.Plural);

    public static ApiStatusException Conflict(ResourceKind kind, string name) =>
        new(
            HttpStatusCode.Conflict,
            "Conflict",
            $"Operation cannot be fulfilled on {kind} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            name,
            NullIfEmpty(kind.Group),
            kind.Plural);

    public static ApiStatusException BadRequest(string message) => new(HttpStatusCode.BadRequest, "BadRequest", message);

    public static ApiStatusException Invalid(ResourceKind kind, string name, string message) =>
        new(HttpStatusCode.UnprocessableEntity, "Invalid", $"{kind.Kind} \"{name}\" is invalid: {message}", name, NullIfEmpty(kind.Group), kind.Kind);

    public static ApiStatusException Expired(string message, string? inconsistentContinue = null) =>
        new(HttpStatusCode.Gone, "Expired", message, inconsistentContinue: inconsistentContinue);

    public static ApiStatusException ResourceNotFound() =>
        new(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");

    public static ApiStatusException MethodNotAllowed(string method) =>
        new(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", $"the server does not allow this method on the requested resource ({method})");

    /// <summary>The Status kube-apiserver sends for a given HTTP status when nothing more specific applies.</summary>
    public static ApiStatusException ForStatusCode(HttpStatusCode code) => code switch
    {
        HttpStatusCode.BadRequest => BadRequest("the server rejected our request for an unknown reason"),
        HttpStatusCode.Unauthorized => new(code, "Unauthorized", "Unauthorized"),
        HttpStatusCode.Forbidden => new(code, "Forbidden", "forbidden: the fake API server was told to refuse this request"),
        HttpStatusCode.NotFound => ResourceNotFound(),
        HttpStatusCode.Conflict => new(code, "Conflict", "the fake API server was told to answer Conflict"),
        HttpStatusCode.Gone => Expired("too old resource version"),
        HttpStatusCode.UnprocessableEntity => new(code, "Invalid", "the fake API server was told to answer Invalid"),
        HttpStatusCode.TooManyRequests => new(code, "TooManyRequests", "the server has received too many requests and has asked us to try again later"),
        HttpStatusCode.InternalServerError => new(code, "InternalError", "Internal error occurred: the fake API server was told to fail"),
        HttpStatusCode.ServiceUnavailable => new(code, "ServiceUnavailable", "the server is currently unable to handle the request"),
        HttpStatusCode.GatewayTimeout => new(code, "Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"),
        _ => new(code, string.Empty, $"the fake API server was told to answer {(int)code}"),
    };

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
