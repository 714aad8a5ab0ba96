using Iam4Kube.Hosting;
using Iam4Kube.Identity;
using Iam4Kube.Metadata;
using Iam4Kube.Outcomes;
using Iam4Kube.Stores;
using Iam4Kube.Waiting;

namespace Iam4Kube.PodIdentity;

/// <summary>
/// The token door's side of the stages (EKS Pod Identity's protocol): checks the Host and the Authorization header,
/// has the ServiceAccount token verified, resolves the pod it names through the same stages and waiting as the IMDS
/// door, and turns the result into the agent's answer: the credentials JSON, or a plain-text refusal whose status is
/// the <see cref="Outcome"/> table's token column. The token is never logged, nor kept beyond the request.
/// </summary>
internal sealed class TokenDoor(
    ServiceAccountTokenVerifier verifier,
    PodIndex pods,
    CallerResolver resolver,
    OutcomeReporter reporter,
    TokenDoorHosts hosts,
    TimeProvider time)
{
    /// <summary>
    /// The endpoint itself (a plain request delegate: no per-request service scope or parameter binding). A warm
    /// request completes synchronously and writes its answer without another state machine.
    /// </summary>
    public Task ServeAsync(HttpContext context)
    {
        var answer = ServeCredentialsAsync(context);
        return answer.IsCompletedSuccessfully ? answer.Result.ExecuteAsync(context) : ExecuteAsync(answer, context);

        static async Task ExecuteAsync(ValueTask<IResult> answer, HttpContext context) => await (await answer).ExecuteAsync(context);
    }

    public async ValueTask<IResult> ServeCredentialsAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        var request = context.Request;
        if (!hosts.Allows(request.Host))
        {
            return Refuse(context, started, Outcome.HostNotAllowed, $"Host '{Shorten(request.Host.Value ?? "")}' is not an address of this endpoint");
        }

        var values = request.Headers.Authorization;
        if (values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            return Refuse(context, started, Outcome.TokenMissing, "the Authorization header must hold the pod's ServiceAccount token");
        }

        var token = values[0]!;
        if (values.Count > 1)
        {
            return Refuse(context, started, Outcome.TokenMalformed, "more than one Authorization header");
        }

        if (token.Length > ServiceAccountTokenVerifier.MaxTokenLength)
        {
            return Refuse(context, started, Outcome.TokenMalformed, $"the Authorization header is longer than {ServiceAccountTokenVerifier.MaxTokenLength} characters");
        }

        if (token.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            return Refuse(context, started, Outcome.TokenMalformed, "the Authorization header contains a line break");
        }

        TokenVerification verification;
        try
        {
            verification = await verifier.VerifyAsync(token, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Refuse(context, started, Outcome.ClientGone, null);
        }

        if (verification.Token is not { } verified)
        {
            return Refuse(context, started, verification.Outcome, verification.Detail);
        }

        var resolution = await resolver.ResolveAsync(new ServiceAccountTokenClaim(pods, verified), Need.Credentials, context.RequestAborted);
        if (resolution is not { IsResolved: true, Pod: { } pod, Role: { } role, Credentials: { } credentials })
        {
            return Refuse(context, started, resolution);
        }

        reporter.CredentialsServed(new CredentialsRequest(Doors.Token, time.GetElapsedTime(started)), MetadataApi.SourceIp(context), pod, role, credentials);
        return new JsonBody(CredentialsBody.PodIdentityFor(credentials, role.Arn.AccountId));
    }

    private IResult Refuse(HttpContext context, long started, Outcome outcome, string? detail) =>
        Refuse(context, started, new Resolution(outcome, Detail: detail));

    private IResult Refuse(HttpContext context, long started, Resolution resolution)
    {
        var outcome = resolution.Outcome;
        var status = outcome.TokenStatus;
        reporter.Refused(outcome, status, MetadataApi.SourceIp(context), context.Request.Path, resolution.Pod, resolution.Detail, resolution.Role,
            new CredentialsRequest(Doors.Token, time.GetElapsedTime(started)));
        if (ReferenceEquals(outcome, Outcome.ClientGone))
        {
            return ImdsResults.Nothing;
        }

        // Plain text, as EKS's agent answers errors; the body says why and never holds a secret.
        var body = resolution.Detail ?? outcome.Label;
        return outcome.IsRetryableOnTokenDoor ? ImdsResults.Retry(status, body) : ImdsResults.Text(status, body);
    }

    private static string Shorten(string value) => value.Length > 64 ? value[..64] + "…" : value;

    private sealed class JsonBody(byte[] body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            response.ContentLength = body.Length;
            return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
        }
    }
}
