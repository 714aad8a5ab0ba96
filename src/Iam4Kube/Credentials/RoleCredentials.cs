namespace Iam4Kube.Credentials;

/// <summary>Temporary credentials for a role. <see cref="ToString"/> never shows the secret parts.</summary>
internal sealed record RoleCredentials(
    string AccessKeyId,
    string SecretAccessKey,
    string SessionToken,
    DateTimeOffset Expiration,
    DateTimeOffset LastUpdated)
{
    /// <summary>
    /// Beyond this difference between this node's clock and STS's <c>Date</c>, expiry is computed on STS's clock: a
    /// node clock 50 minutes fast would otherwise see fresh one-hour credentials as ten minutes from expiry.
    /// </summary>
    public static readonly TimeSpan ClockSkewThreshold = TimeSpan.FromSeconds(60);

    /// <summary>Why the session is shorter than asked, for the pods that receive it (an Event); null normally.</summary>
    public string? Notice { get; init; }

    /// <summary>Why these credentials live less than SDKs' refresh windows expect (an Event); null normally.</summary>
    public string? ShortLivedNotice { get; init; }

    /// <summary>This node's clock minus STS's, measured from the answer's <c>Date</c> header; null when unknown.</summary>
    public TimeSpan? StsClockSkew { get; init; }

    /// <summary>What to add to <see cref="Expiration"/> to read it on this node's clock: the skew, once beyond the threshold.</summary>
    public TimeSpan ExpiryCorrection => StsClockSkew is { } skew && skew.Duration() > ClockSkewThreshold ? skew : TimeSpan.Zero;

    /// <summary>How long the credentials lived when they arrived, on STS's clock.</summary>
    public TimeSpan LifeAtIssue => RemainingAt(LastUpdated);

    /// <summary>Time left at <paramref name="now"/> (this node's clock), corrected for a skewed clock.</summary>
    public TimeSpan RemainingAt(DateTimeOffset now) => Expiration + ExpiryCorrection - now;

    public override string ToString() => $"{AccessKeyId} (expires {Expiration:O})";
}
