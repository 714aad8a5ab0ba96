namespace Iam4Kube.Credentials;

/// <summary>
/// What is known of one role's credentials: the newest credentials obtained (if any) and, when the latest attempt
/// failed, why. Immutable: the refresher publishes a new state, readers never lock.
/// </summary>
internal sealed record CredentialState(RoleCredentials? Current, CredentialFailure? Failure)
{
    public static readonly CredentialState Pending = new(null, null);

    /// <summary>The latest attempt succeeded (or none has finished yet).</summary>
    public bool Healthy => Failure is null;
}
