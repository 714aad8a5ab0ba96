using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Iam4Kube.Hosting;
using Iam4Kube.Identity;
using Iam4Kube.Observability;
using Iam4Kube.Outcomes;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Waiting;
using Microsoft.Extensions.Options;

namespace Iam4Kube.Metadata;

/// <summary>
/// The emulated EC2 instance metadata API: only these paths, everything else is 404 and nothing is ever proxied to
/// the node's real metadata service. Answers come from the pod that owns the request's source IP. Handlers only
/// translate: the stages (<see cref="ImdsDoor"/>) say who is calling and what they get, handlers write EC2's bodies.
/// </summary>
internal static partial class MetadataApi
{
    public const string TokenHeader = "X-aws-ec2-metadata-token";
    public const string TokenTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
    private const string TimeFormat = "yyyy-MM-ddTHH:mm:ssZ";

    /// <summary>The routes of credentials requests: audited (<see cref="AuditLog"/>) whether served or refused.</summary>
    internal static readonly MetricsRoute CredentialsRoute = new("credentials");

    /// <inheritdoc cref="CredentialsRoute"/>
    internal static readonly MetricsRoute ExtendedCredentialsRoute = new("credentials-extended");

    public static IEndpointRouteBuilder MapMetadataApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPut("/latest/api/token", IssueToken).WithMetadata(new MetricsRoute("token"));

        // Everything that depends on who is calling passes the IMDSv2 token check first.
        var identified = endpoints.MapGroup("").AddEndpointFilter<ImdsTokenFilter>();
        identified.MapGet("/latest/meta-data/iam/security-credentials", ListRole).WithMetadata(new MetricsRoute("security-credentials"));
        identified.MapGet("/latest/meta-data/iam/security-credentials/{role}", GetCredentials).WithMetadata(CredentialsRoute);
        // The extended path (AccountId added) that current SDKs ask first, falling back to the classic one on 404.
        identified.MapGet("/latest/meta-data/iam/security-credentials-extended", ListRole).WithMetadata(new MetricsRoute("security-credentials-extended"));
        identified.MapGet("/latest/meta-data/iam/security-credentials-extended/{role}", GetExtendedCredentials).WithMetadata(ExtendedCredentialsRoute);
        identified.MapGet("/latest/meta-data/iam/info", GetIamInfo).WithMetadata(new MetricsRoute("iam-info"));
        identified.MapGet("/latest/meta-data/placement/availability-zone", GetAvailabilityZone).WithMetadata(new MetricsRoute("availability-zone"));
        identified.MapGet("/latest/meta-data/placement/region", GetRegion).WithMetadata(new MetricsRoute("region"));
        identified.MapGet("/latest/dynamic/instance-identity/document", GetIdentityDocument).WithMetadata(new MetricsRoute("identity-document"));
        endpoints.MapFallback(NotFound).WithMetadata(new MetricsRoute("other"));
        return endpoints;
    }

    private static Task NotFound(HttpContext context) => ImdsResults.WriteText(context, StatusCodes.Status404NotFound, "Not Found");

    /// <summary>IMDSv2: a session token bound to the caller's IP (and pod). Never waits on the cluster.</summary>
    private static IResult IssueToken(HttpContext context, ImdsTokens tokens, SourceIpIdentity identity, ILoggerFactory loggers)
    {
        var request = context.Request;
        // EC2 refuses token requests that went through a proxy: they could hand the token to someone else.
        if (request.Headers.ContainsKey("X-Forwarded-For") || request.Headers.ContainsKey("Forwarded"))
        {
            return ImdsResults.Text(StatusCodes.Status403Forbidden, "Forbidden");
        }

        var ttlValues = request.Headers[TokenTtlHeader];
        if (ttlValues.Count != 1
            || !int.TryParse(ttlValues[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ttl)
            || ttl is < ImdsTokens.MinTtlSeconds or > ImdsTokens.MaxTtlSeconds)
        {
            return ImdsResults.Text(StatusCodes.Status400BadRequest, $"Bad Request: {TokenTtlHeader} must be an integer from {ImdsTokens.MinTtlSeconds} to {ImdsTokens.MaxTtlSeconds}");
        }

        var ip = SourceIp(context);
        var uid = identity.OwnerUid(ip);
        context.Response.Headers[TokenTtlHeader] = ttlValues[0];
        Log.TokenIssued(loggers.CreateLogger(typeof(MetadataApi)), ip, uid ?? "(no pod yet)", ttl);
        return ImdsResults.Text(StatusCodes.Status200OK, tokens.Issue(ip, uid, ttl));
    }

    private static async Task<IResult> ListRole(HttpContext context, ImdsDoor door)
    {
        var resolution = await door.ResolveAsync(context, Need.Role);
        if (resolution is not { IsResolved: true, Role: { } role })
        {
            return door.Refuse(context, resolution);
        }

        door.RoleFound(resolution);
        return ImdsResults.Text(StatusCodes.Status200OK, role.Arn.RoleName);
    }

    private static Task<IResult> GetCredentials(HttpContext context, string role, ImdsDoor door, TimeProvider time) =>
        ServeCredentials(context, role, door, time, extended: false);

    private static Task<IResult> GetExtendedCredentials(HttpContext context, string role, ImdsDoor door, TimeProvider time) =>
        ServeCredentials(context, role, door, time, extended: true);

    private static async Task<IResult> ServeCredentials(HttpContext context, string role, ImdsDoor door, TimeProvider time, bool extended)
    {
        var started = time.GetTimestamp();
        var resolution = await door.ResolveAsync(context, Need.Credentials);
        if (resolution is not { IsResolved: true, Role: { } assigned, Credentials: { } credentials })
        {
            return door.Refuse(context, resolution, ImdsDoor.Credentials(time.GetElapsedTime(started)));
        }

        if (!string.Equals(role, assigned.Arn.RoleName, StringComparison.Ordinal))
        {
            return door.Refuse(context, resolution with { Outcome = Outcome.WrongRoleName, Detail = null }, ImdsDoor.Credentials(time.GetElapsedTime(started)));
        }

        door.CredentialsServed(context, resolution, time.GetElapsedTime(started));
        return ImdsResults.Rendered(extended ? CredentialsBody.ExtendedFor(credentials, assigned.Arn.AccountId) : CredentialsBody.For(credentials));
    }

    private static async Task<IResult> GetIamInfo(HttpContext context, ImdsDoor door, TimeProvider time)
    {
        var resolution = await door.ResolveAsync(context, Need.Role);
        if (resolution is not { IsResolved: true, Role: { } role })
        {
            return door.Refuse(context, resolution);
        }

        var lastUpdated = resolution.Credentials?.LastUpdated ?? time.GetUtcNow();
        var document = new IamInfoDocument(
            "Success",
            Format(lastUpdated),
            $"arn:{role.Arn.Partition}:iam::{role.Arn.AccountId}:instance-profile{role.Arn.Path}{role.Arn.RoleName}",
            InstanceProfileId(role));
        return ImdsResults.Json(document, ImdsJsonContext.Ec2.IamInfoDocument);
    }

    private static async Task<IResult> GetAvailabilityZone(HttpContext context, ImdsDoor door)
    {
        var resolution = await door.ResolveAsync(context, Need.Node);
        if (!resolution.IsResolved)
        {
            return door.Refuse(context, resolution);
        }

        return resolution.Node!.Zone is { } zone ? ImdsResults.Text(StatusCodes.Status200OK, zone) : ImdsResults.NotFound;
    }

    private static async Task<IResult> GetRegion(HttpContext context, ImdsDoor door, IOptions<Iam4KubeOptions> options)
    {
        var resolution = await door.ResolveAsync(context, Need.Node);
        if (!resolution.IsResolved)
        {
            return door.Refuse(context, resolution);
        }

        return (resolution.Node!.Region ?? options.Value.Region) is { } region ? ImdsResults.Text(StatusCodes.Status200OK, region) : ImdsResults.NotFound;
    }

    private static async Task<IResult> GetIdentityDocument(HttpContext context, ImdsDoor door, IOptions<Iam4KubeOptions> options)
    {
        var resolution = await door.ResolveAsync(context, Need.Node);
        if (resolution is not { IsResolved: true, Node: { } node })
        {
            return door.Refuse(context, resolution);
        }

        if ((node.Region ?? options.Value.Region) is not { } region)
        {
            return ImdsResults.NotFound;
        }

        var document = new InstanceIdentityDocument(
            resolution.Role?.Arn.AccountId,
            node.Zone,
            SourceIp(context).ToString(),
            region,
            "2017-09-30");
        return ImdsResults.Json(document, ImdsJsonContext.Ec2.InstanceIdentityDocument);
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Issued an IMDSv2 token to {SourceIp} (pod uid {PodUid}) for {TtlSeconds} s")]
        public static partial void TokenIssued(ILogger logger, IPAddress sourceIp, string podUid, int ttlSeconds);
    }
}
