using Iam4Kube.Roles;

namespace Iam4Kube.Credentials;

/// <summary>Obtains credentials for a role (STS AssumeRole in production).</summary>
internal interface ICredentialIssuer
{
    /// <exception cref="CredentialIssueException">The credentials could not be issued.</exception>
    Task<RoleCredentials> IssueAsync(IamRole role, TimeSpan duration, CancellationToken cancellationToken);
}
