using System.Net;

namespace Iam4Kube.Testing.Sts;

/// <summary>An STS error: HTTP status, fault side (<c>Sender</c>/<c>Receiver</c>), code and message.</summary>
internal sealed record StsError(HttpStatusCode Status, string Type, string Code, string Message)
{
    public static StsError Throttling() => new(HttpStatusCode.BadRequest, "Sender", "Throttling", "Rate exceeded");

    public static StsError AccessDenied(string callerArn, string roleArn) =>
        new(
            HttpStatusCode.Forbidden,
            "Sender",
            "AccessDenied",
            $"User: {callerArn} is not authorized to perform: sts:AssumeRole on resource: {roleArn}");

    /// <summary>What STS answers when the role's trust policy allows sts:AssumeRole but not sts:TagSession.</summary>
    public static StsError TagSessionDenied(string callerArn, string roleArn) =>
        new(
            HttpStatusCode.Forbidden,
            "Sender",
            "AccessDenied",
            $"User: {callerArn} is not authorized to perform: sts:TagSession on resource: {roleArn}");

    public static StsError DurationAboveRoleMaximum() =>
        Validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");

    public static StsError DurationAboveChainingLimit() =>
        Validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");

    public static StsError ServerError() =>
        new(HttpStatusCode.InternalServerError, "Receiver", "InternalFailure", "An internal error occurred. Try again.");

    public static StsError Validation(string message) => new(HttpStatusCode.BadRequest, "Sender", "ValidationError", message);

    public static StsError MissingAction() =>
        new(HttpStatusCode.BadRequest, "Sender", "MissingAction", "Missing Action");

    public static StsError InvalidAction(string action) =>
        new(HttpStatusCode.BadRequest, "Sender", "InvalidAction", $"Could not find operation {action} for version 2011-06-15");
}
