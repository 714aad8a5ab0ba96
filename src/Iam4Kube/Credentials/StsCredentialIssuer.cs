using System.Net;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Iam4Kube.Hosting;
using Iam4Kube.Roles;

namespace Iam4Kube.Credentials;

/// <summary>Issues credentials with STS AssumeRole, using iam4kube's own AWS credentials (the default chain).</summary>
internal sealed class StsCredentialIssuer(IAmazonSecurityTokenService sts, TimeProvider time, Iam4KubeOptions options) : ICredentialIssuer, IDisposable
{
    // Calls beyond the STS client's connection pool wait here, before the SDK marshals, signs and queues their request.
    // A call queued inside the SDK holds its request, its signature and its HTTP message for as long as it waits, and
    // its 30 s timeout runs meanwhile: with a generous --sts-rate, 2,000 first fetches would each hold that while
    // 16 connections carry them, and the last could time out unsent (docs/benchmarks.md, "Issue 15: the sync burst's
    // memory").
    private readonly SemaphoreSlim _inFlight = new(Iam4KubeServiceCollectionExtensions.StsMaxConnections);

    /// <summary>AccessDenied for sts:TagSession: the role trusts iam4kube but not with session tags.</summary>
    public const string TagSessionDenied = "TagSessionDenied";

    /// <summary>ValidationError: DurationSeconds above the role's MaxSessionDuration, or above the role-chaining hour.</summary>
    public const string SessionDurationTooLong = "SessionDurationTooLong";

    /// <summary>--assume-role-arn: the controller role could not be assumed, so no application role can be.</summary>
    public const string ControllerRoleUnavailable = "ControllerRoleUnavailable";

    // EKS Pod Identity's keys, so that policies conditioned on aws:PrincipalTag/... work unchanged (docs/iam.md).
    public const string NamespaceTag = "kubernetes-namespace";
    public const string ServiceAccountTag = "kubernetes-service-account";
    public const string ClusterNameTag = "eks-cluster-name";

    // Errors that retrying cannot fix until someone changes IAM or the ServiceAccount's annotations.
    private static readonly HashSet<string> PermanentErrors = new(StringComparer.Ordinal)
    {
        "AccessDenied",
        "AccessDeniedException",
        "ValidationError",
        "MalformedPolicyDocument",
        "PackedPolicyTooLarge",
        "RegionDisabledException",
        "InvalidParameterValue",
    };

    public async Task<RoleCredentials> IssueAsync(IamRole role, TimeSpan duration, CancellationToken cancellationToken)
    {
        var request = new AssumeRoleRequest
        {
            RoleArn = role.Arn.Value,
            RoleSessionName = role.SessionName,
            ExternalId = role.ExternalId,
            DurationSeconds = (int)duration.TotalSeconds,
        };
        if (options.SessionTags && role.ServiceAccount is { } serviceAccount)
        {
            request.Tags = [new Tag { Key = NamespaceTag, Value = serviceAccount.Namespace }, new Tag { Key = ServiceAccountTag, Value = serviceAccount.Name }];
            if (options.ClusterName is { } cluster)
            {
                request.Tags.Add(new Tag { Key = ClusterNameTag, Value = cluster });
            }

            // Transitive: a session this role chains into keeps the tags, as with EKS Pod Identity.
            request.TransitiveTagKeys = [.. request.Tags.Select(t => t.Key)];
        }

        AssumeRoleResponse response;
        await _inFlight.WaitAsync(cancellationToken);
        using var date = StsResponseDate.Begin();
        try
        {
            response = await sts.AssumeRoleAsync(request, cancellationToken);
        }
        catch (AmazonServiceException e) when (e.ErrorCode == "AccessDenied" && request.Tags is { Count: > 0 }
                                               && e.Message.Contains("sts:TagSession", StringComparison.Ordinal))
        {
            throw new CredentialIssueException(TagSessionDenied, e.Message, permanent: true, e);
        }
        catch (ControllerRoleException e)
        {
            throw new CredentialIssueException(ControllerRoleUnavailable, e.Message, permanent: false, e);
        }
        catch (AmazonServiceException e) when (e.ErrorCode == "ValidationError" && e.Message.Contains("DurationSeconds exceeds", StringComparison.Ordinal))
        {
            // "... exceeds the MaxSessionDuration set for this role." / "... the 1 hour session limit for roles assumed by role chaining."
            throw new CredentialIssueException(SessionDurationTooLong, e.Message, permanent: true, e);
        }
        catch (AmazonServiceException e) when (e.ErrorCode is { Length: > 0 } code)
        {
            throw new CredentialIssueException(code, e.Message, PermanentErrors.Contains(code), e);
        }
        catch (AmazonServiceException e)
        {
            var code = e.StatusCode == 0 ? "TransportError" : $"Http{(int)e.StatusCode}";
            throw new CredentialIssueException(code, e.Message, permanent: false, e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or WebException or AmazonClientException
                                  || (e is TaskCanceledException or OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new CredentialIssueException(e is OperationCanceledException ? "Timeout" : "TransportError", e.Message, permanent: false, e);
        }
        finally
        {
            _inFlight.Release();
        }

        var credentials = response.Credentials
            ?? throw new CredentialIssueException("EmptyResponse", "STS answered AssumeRole without credentials", permanent: false);
        if (credentials.Expiration is not { } expiration)
        {
            throw new CredentialIssueException("EmptyResponse", "STS answered AssumeRole without an expiration", permanent: false);
        }

        return new RoleCredentials(
            credentials.AccessKeyId,
            credentials.SecretAccessKey,
            credentials.SessionToken,
            ToUtc(expiration),
            time.GetUtcNow())
        {
            // This node's clock minus STS's (positive: this node is ahead); the Date has whole seconds.
            StsClockSkew = time.GetUtcNow() - date.Date,
        };
    }

    public void Dispose() => _inFlight.Dispose();

    private static DateTimeOffset ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Unspecified => new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)),
        _ => new DateTimeOffset(value.ToUniversalTime()),
    };
}
