using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Iam4Kube.Roles;
using Microsoft.Extensions.Options;

namespace Iam4Kube.Metadata;

/// <summary>
/// The emulated EC2 instance metadata API: only these paths, everything else is 404 and nothing is ever proxied to
/// the node's real metadata service. Answers come from the pod that owns the request's source IP.
/// </summary>
internal static partial class MetadataApi
{
    public const string TokenHeader = "X-aws-ec2-metadata-token";
    public const string TokenTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
    private const string TextPlain = "text/plain";
    private const string TimeFormat = "yyyy-MM-ddTHH:mm:ssZ";

    public static IEndpointRouteBuilder MapMetadataApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPut("/latest/api/token", IssueToken).WithMetadata(new MetricsRoute("token"));
        endpoints.MapGet("/latest/meta-data/iam/security-credentials", ListRole).WithMetadata(new MetricsRoute("security-credentials"));
        endpoints.MapGet("/latest/meta-data/iam/security-credentials/{role}", GetCredentials).WithMetadata(new MetricsRoute("credentials"));
        // The extended path (AccountId added) that current SDKs ask first, falling back to the classic one on 404.
        endpoints.MapGet("/latest/meta-data/iam/security-credentials-extended", ListRole).WithMetadata(new MetricsRoute("security-credentials-extended"));
        endpoints.MapGet("/latest/meta-data/iam/security-credentials-extended/{role}", GetExtendedCredentials).WithMetadata(new MetricsRoute("credentials-extended"));
        endpoints.MapGet("/latest/meta-data/iam/info", GetIamInfo).WithMetadata(new MetricsRoute("iam-info"));
        endpoints.MapGet("/latest/meta-data/placement/availability-zone", GetAvailabilityZone).WithMetadata(new MetricsRoute("availability-zone"));
        endpoints.MapGet("/latest/meta-data/placement/region", GetRegion).WithMetadata(new MetricsRoute("region"));
        endpoints.MapGet("/latest/dynamic/instance-identity/document", GetIdentityDocument).WithMetadata(new MetricsRoute("identity-document"));
        endpoints.MapFallback(NotFound).WithMetadata(new MetricsRoute("other"));
        return endpoints;
    }

    private static Task NotFound(HttpContext context) => WriteText(context, StatusCodes.Status404NotFound, "Not Found");

    /// <summary>IMDSv2: a session token bound to the caller's IP (and pod). Never waits on the cluster.</summary>
    private static Task IssueToken(HttpContext context, ImdsTokens tokens, PodIndex pods, ILoggerFactory loggers)
    {
        var request = context.Request;
        // EC2 refuses token requests that went through a proxy: they could hand the token to someone else.
        if (request.Headers.ContainsKey("X-Forwarded-For") || request.Headers.ContainsKey("Forwarded"))
        {
            return WriteText(context, StatusCodes.Status403Forbidden, "Forbidden");
        }

        var ttlValues = request.Headers[TokenTtlHeader];
        if (ttlValues.Count != 1
            || !int.TryParse(ttlValues[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ttl)
            || ttl is < ImdsTokens.MinTtlSeconds or > ImdsTokens.MaxTtlSeconds)
        {
            return WriteText(context, StatusCodes.Status400BadRequest, $"Bad Request: {TokenTtlHeader} must be an integer from {ImdsTokens.MinTtlSeconds} to {ImdsTokens.MaxTtlSeconds}");
        }

        var ip = SourceIp(context);
        var lookup = pods.Lookup(ip);
        var uid = lookup.Result == PodLookupResult.Found ? lookup.Pod!.Uid : null;
        context.Response.Headers[TokenTtlHeader] = ttlValues[0];
        Log.TokenIssued(loggers.CreateLogger(typeof(MetadataApi)), ip, uid ?? "(no pod yet)", ttl);
        return WriteText(context, StatusCodes.Status200OK, tokens.Issue(ip, uid, ttl));
    }

    private static async Task ListRole(HttpContext context, RequestPipeline pipeline)
    {
        var resolution = await pipeline.ResolveAsync(context, Need.Role);
        if (resolution is { Outcome: ResolutionOutcome.Resolved, Role: { } role })
        {
            pipeline.RoleFound(resolution);
            await WriteText(context, StatusCodes.Status200OK, role.Arn.RoleName);
        }
    }

    private static Task GetCredentials(HttpContext context, string role, RequestPipeline pipeline) =>
        ServeCredentials(context, role, pipeline, extended: false);

    private static Task GetExtendedCredentials(HttpContext context, string role, RequestPipeline pipeline) =>
        ServeCredentials(context, role, pipeline, extended: true);

    private static async Task ServeCredentials(HttpContext context, string role, RequestPipeline pipeline, bool extended)
    {
        var resolution = await pipeline.ResolveAsync(context, Need.Credentials);
        if (resolution is not { Outcome: ResolutionOutcome.Resolved, Role: { } assigned, Credentials: { } credentials })
        {
            return;
        }

        if (!string.Equals(role, assigned.Arn.RoleName, StringComparison.Ordinal))
        {
            await WriteText(context, StatusCodes.Status404NotFound, "Not Found");
            pipeline.Outcome("wrong_role_name");
            return;
        }

        pipeline.CredentialsServed(context, resolution);
        var body = extended ? CredentialsBody.ExtendedFor(credentials, assigned.Arn.AccountId) : CredentialsBody.For(credentials);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = TextPlain;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static async Task GetIamInfo(HttpContext context, RequestPipeline pipeline, CredentialStore cache, TimeProvider time)
    {
        var resolution = await pipeline.ResolveAsync(context, Need.Role);
        if (resolution is not { Outcome: ResolutionOutcome.Resolved, Role: { } role })
        {
            return;
        }

        var lastUpdated = cache.Get(role)?.Current?.LastUpdated ?? time.GetUtcNow();
        var document = new IamInfoDocument(
            "Success",
            Format(lastUpdated),
            $"arn:{role.Arn.Partition}:iam::{role.Arn.AccountId}:instance-profile{role.Arn.Path}{role.Arn.RoleName}",
            InstanceProfileId(role));
        await WriteJson(context, document, ImdsJsonContext.Ec2.IamInfoDocument);
    }

    private static async Task GetAvailabilityZone(HttpContext context, RequestPipeline pipeline)
    {
        var resolution = await pipeline.ResolveAsync(context, Need.Node);
        if (resolution.Outcome == ResolutionOutcome.Resolved)
        {
            await (resolution.Node!.Zone is { } zone
                ? WriteText(context, StatusCodes.Status200OK, zone)
                : WriteText(context, StatusCodes.Status404NotFound, "Not Found"));
        }
    }

    private static async Task GetRegion(HttpContext context, RequestPipeline pipeline, IOptions<Iam4KubeOptions> options)
    {
        var resolution = await pipeline.ResolveAsync(context, Need.Node);
        if (resolution.Outcome == ResolutionOutcome.Resolved)
        {
            await ((resolution.Node!.Region ?? options.Value.Region) is { } region
                ? WriteText(context, StatusCodes.Status200OK, region)
                : WriteText(context, StatusCodes.Status404NotFound, "Not Found"));
        }
    }

    private static async Task GetIdentityDocument(HttpContext context, RequestPipeline pipeline, IOptions<Iam4KubeOptions> options, ServiceAccountStore serviceAccounts)
    {
        var resolution = await pipeline.ResolveAsync(context, Need.Node);
        if (resolution is not { Outcome: ResolutionOutcome.Resolved, Node: { } node, Pod: { } pod })
        {
            return;
        }

        if ((node.Region ?? options.Value.Region) is not { } region)
        {
            await WriteText(context, StatusCodes.Status404NotFound, "Not Found");
            return;
        }

        var document = new InstanceIdentityDocument(
            serviceAccounts.TryGet(pod.ServiceAccountName, out var assignment) && assignment is RoleAssignment.Assigned assigned ? assigned.Role.Arn.AccountId : null,
            node.Zone,
            SourceIp(context).ToString(),
            region,
            "2017-09-30");
        await WriteJson(context, document, ImdsJsonContext.Ec2.InstanceIdentityDocument);
    }

    /// <summary>A stable, plausible instance profile id for the role (EC2's start with AIPA).</summary>
    private static string InstanceProfileId(IamRole role)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(role.Arn.Value));
        var id = new StringBuilder("AIPA", 21);
        for (var i = 0; i < 17; i++)
        {
            id.Append(alphabet[hash[i] % alphabet.Length]);
        }

        return id.ToString();
    }

    public static IPAddress SourceIp(HttpContext context) =>
        PodInfo.Normalize(context.Connection.RemoteIpAddress ?? IPAddress.None);

    internal static string Format(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static Task WriteText(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = TextPlain;
        return context.Response.WriteAsync(body);
    }

    private static Task WriteJson<T>(HttpContext context, T document, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        // EC2 labels these JSON bodies text/plain; SDKs do not care, but some tools compare.
        context.Response.ContentType = TextPlain;
        return JsonSerializer.SerializeAsync(context.Response.Body, document, type, context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Issued an IMDSv2 token to {SourceIp} (pod uid {PodUid}) for {TtlSeconds} s")]
        public static partial void TokenIssued(ILogger logger, IPAddress sourceIp, string podUid, int ttlSeconds);
    }
}
