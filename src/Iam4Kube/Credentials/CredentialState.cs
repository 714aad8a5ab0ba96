namespace Iam4Kube.Credentials;

/// <summary>
/// What is known of one role's credentials: the newest credentials obtained (if any) and, when the latest attempt
/// failed, why; <see cref="NextAttemptAt"/> is when the refresher plans its next AssumeRole (explain shows it).
/// Immutable: the refresher publishes a new state, readers never lock.
/// </summary>
internal sealed record CredentialState(RoleCredentials? Current, CredentialFailure? Failure, DateTimeOffset? NextAttemptAt = null)
{
    /// <summary>When STS last answered for this role (issued or refused), if it ever did.</summary>
    public DateTimeOffset? LastStsAnswerAt => (Current?.LastUpdated, Failure?.At) switch
    {
        ({ } issued, { } failed) => issued > failed ? issued : failed,
        (var issued, var failed) => issued ?? failed,
    };

    public static readonly CredentialState Pending = new(null, null);

    /// <summary>The latest attempt succeeded (or none has finished yet).</summary>
    public bool Healthy => Failure is null;
}
