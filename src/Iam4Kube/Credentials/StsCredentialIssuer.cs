using System.Net;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Iam4Kube.Roles;

namespace Iam4Kube.Credentials;

/// <summary>Issues credentials with STS AssumeRole, using iam4kube's own AWS credentials (the default chain).</summary>
internal sealed class StsCredentialIssuer(IAmazonSecurityTokenService sts, TimeProvider time) : ICredentialIssuer
{
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

        AssumeRoleResponse response;
        try
        {
            response = await sts.AssumeRoleAsync(request, cancellationToken);
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
            time.GetUtcNow());
    }

    private static DateTimeOffset ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Unspecified => new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)),
        _ => new DateTimeOffset(value.ToUniversalTime()),
    };
}
