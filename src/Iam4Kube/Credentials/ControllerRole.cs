using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Iam4Kube.Observability;

namespace Iam4Kube.Credentials;

/// <summary>
/// Role chaining (--assume-role-arn): the controller role, assumed with iam4kube's own credentials, whose session
/// then assumes every application role, so that application roles trust one stable principal. These are the AWS
/// credentials of the STS client that <see cref="StsCredentialIssuer"/> uses. They are fetched at start and kept
/// fresh ahead of expiry by <see cref="ControllerRoleKeeper"/>; until they exist nothing can be served, which makes
/// them a readiness matter (<see cref="Problem"/>).
/// </summary>
internal sealed partial class ControllerRole(
    IAmazonSecurityTokenService ownSts,
    string roleArn,
    StsRateLimiter limiter,
    Iam4KubeMetrics metrics,
    TimeProvider time,
    ILogger<ControllerRole> logger) : AWSCredentials, IDisposable
{
    /// <summary>The session name CloudTrail shows for the controller role.</summary>
    public const string SessionName = "iam4kube";

    /// <summary>STS's limit for a session used to assume another role (role chaining), and so for the application roles.</summary>
    public static readonly TimeSpan ChainedSessionLimit = TimeSpan.FromHours(1);

    // Refreshed this long before expiry, as SDKs do for instance credentials.
    private static readonly TimeSpan RefreshAhead = TimeSpan.FromMinutes(15);
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private volatile Session? _current;
    private volatile string? _problem = $"the controller role {roleArn} has not been assumed yet";

    public string RoleArn => roleArn;

    /// <summary>Why nothing can be served now, or null once the controller role's credentials are valid.</summary>
    public string? Problem => _current is { } session && session.Expiration > time.GetUtcNow()
        ? null
        : _problem ?? $"the session of the controller role {roleArn} expired";

    /// <summary>When the current session should be renewed; null when there is none.</summary>
    public DateTimeOffset? RefreshDue => _current?.Expiration - RefreshAhead;

    public override ImmutableCredentials GetCredentials() => GetCredentialsAsync().GetAwaiter().GetResult();

    public override async Task<ImmutableCredentials> GetCredentialsAsync()
    {
        if (_current is { } session && session.Expiration - time.GetUtcNow() > RefreshAhead)
        {
            return session.Credentials;
        }

        // A failed refresh keeps a session that is still valid; an expired one is never handed out.
        await RefreshAsync(CancellationToken.None);
        return _current is { } current && current.Expiration > time.GetUtcNow()
            ? current.Credentials
            : throw new ControllerRoleException(Problem ?? $"no valid session of the controller role {roleArn}");
    }

    /// <summary>
    /// Assumes the controller role now unless another caller just did; failures keep any still-valid session.
    /// True when the session is fresh afterwards.
    /// </summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } fresh && fresh.Expiration - time.GetUtcNow() > RefreshAhead)
            {
                return true;
            }

            using var lease = await limiter.AcquireAsync(cancellationToken);
            var response = await ownSts.AssumeRoleAsync(new AssumeRoleRequest
            {
                RoleArn = roleArn,
                RoleSessionName = SessionName,
                DurationSeconds = (int)ChainedSessionLimit.TotalSeconds,
            }, cancellationToken);
            var credentials = response.Credentials;
            if (credentials?.Expiration is not { } expiration)
            {
                throw new ControllerRoleException($"STS answered AssumeRole of the controller role {roleArn} without credentials");
            }

            _current = new Session(
                new ImmutableCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken),
                new DateTimeOffset(DateTime.SpecifyKind(expiration, expiration.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : expiration.Kind).ToUniversalTime()));
            _problem = null;
            metrics.ControllerRoleRefreshes.WithLabels("success").Inc();
            Log.Assumed(logger, roleArn, credentials.AccessKeyId, _current.Expiration);
            return true;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or ControllerRoleException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var code = (e as AmazonServiceException)?.ErrorCode is { Length: > 0 } c ? c : e.GetType().Name;
            // Counted before the problem shows, so whoever reads the reason on /readyz finds the metric already moved.
            metrics.ControllerRoleRefreshes.WithLabels(code).Inc();
            _problem = $"cannot assume the controller role {roleArn} (--assume-role-arn): {code}: {e.Message}";
            Log.Failed(logger, roleArn, code, e.Message, _current is not null);
            return false;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    public void Dispose()
    {
        _refreshing.Dispose();
        ownSts.Dispose();
    }

    private sealed record Session(ImmutableCredentials Credentials, DateTimeOffset Expiration);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Assumed the controller role {RoleArn} (access key {AccessKeyId}, expiring {Expiration:O}); application roles are assumed with it")]
        public static partial void Assumed(ILogger logger, string roleArn, string accessKeyId, DateTimeOffset expiration);

        [LoggerMessage(2, LogLevel.Error, "Cannot assume the controller role {RoleArn}: {Code}: {Reason}; nothing new can be served until it works (still-valid session kept: {Kept})")]
        public static partial void Failed(ILogger logger, string roleArn, string code, string reason, bool kept);
    }
}

/// <summary>The controller role's credentials are unavailable: every application role's AssumeRole fails with it.</summary>
internal sealed class ControllerRoleException(string message) : Exception(message);

/// <summary>Assumes the controller role at start, retries with backoff until it works, and renews it ahead of expiry.</summary>
internal sealed class ControllerRoleKeeper(ControllerRole controller, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            failures = await controller.RefreshAsync(stoppingToken) ? 0 : failures + 1;
            var now = time.GetUtcNow();
            var wait = failures > 0
                ? RetryBackoff.For(failures, permanent: false, Random.Shared.NextDouble())
                : (controller.RefreshDue ?? now) - now;
            try
            {
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
