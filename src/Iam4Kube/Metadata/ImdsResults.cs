using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Iam4Kube.Metadata;

/// <summary>The bodies EC2's metadata service answers with, as typed results: plain text, and JSON labelled text/plain.</summary>
internal static class ImdsResults
{
    private const string TextPlain = "text/plain";

    public static IResult Text(int status, string body) => new TextResult(status, body, RetryAfter: false);

    /// <summary>A 503 that invites the client to retry in a second.</summary>
    public static IResult Retry(int status, string body) => new TextResult(status, body, RetryAfter: true);

    public static IResult NotFound { get; } = new TextResult(StatusCodes.Status404NotFound, "Not Found", RetryAfter: false);

    /// <summary>Nothing is written: the client has gone.</summary>
    public static IResult Nothing { get; } = Results.Empty;

    public static IResult Json<T>(T document, JsonTypeInfo<T> type) => new JsonResult<T>(document, type);

    /// <summary>A credentials document rendered once per credentials (<see cref="CredentialsBody"/>).</summary>
    public static IResult Rendered(byte[] body) => new RenderedResult(body);

    public static Task WriteText(HttpContext context, int status, string body) =>
        WriteBody(context, status, System.Text.Encoding.UTF8.GetBytes(body));

    /// <summary>Every answer carries Content-Length, as EC2's do, rather than a chunked body: some clients count on it.</summary>
    private static Task WriteBody(HttpContext context, int status, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = TextPlain;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    private sealed record TextResult(int Status, string Body, bool RetryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (RetryAfter)
            {
                httpContext.Response.Headers.RetryAfter = "1";
            }

            return WriteText(httpContext, Status, Body);
        }
    }

    private sealed record JsonResult<T>(T Document, JsonTypeInfo<T> Type) : IResult
    {
        // EC2 labels these JSON bodies text/plain; SDKs do not care, but some tools compare.
        public Task ExecuteAsync(HttpContext httpContext) =>
            WriteBody(httpContext, StatusCodes.Status200OK, JsonSerializer.SerializeToUtf8Bytes(Document, Type));
    }

    private sealed class RenderedResult(byte[] body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => WriteBody(httpContext, StatusCodes.Status200OK, body);
    }
}
