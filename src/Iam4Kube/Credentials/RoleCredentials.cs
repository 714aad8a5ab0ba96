namespace Iam4Kube.Credentials;

/// <summary>Temporary credentials for a role. <see cref="ToString"/> never shows the secret parts.</summary>
internal sealed record RoleCredentials(
    string AccessKeyId,
    string SecretAccessKey,
    string SessionToken,
    DateTimeOffset Expiration,
    DateTimeOffset LastUpdated)
{
    /// <summary>Why the session is shorter than asked, for the pods that receive it (an Event); null normally.</summary>
    public string? Notice { get; init; }

    public TimeSpan RemainingAt(DateTimeOffset now) => Expiration - now;

    public override string ToString() => $"{AccessKeyId} (expires {Expiration:O})";
}
