namespace Iam4Kube.Credentials;

/// <summary>
/// Why the last attempt to get credentials for a role failed. <c>Code</c> is the STS error code (AccessDenied,
/// Throttling, …) or a transport error name. <c>Permanent</c> is true when retrying will not help until someone
/// changes IAM or the annotation (e.g. the role does not trust iam4kube): such failures are retried only slowly
/// and do not hold readiness back.
/// </summary>
internal sealed record CredentialFailure(string Code, string Message, bool Permanent, DateTimeOffset At)
{
    /// <summary>The code, and for the failures whose code alone would mislead, what it means.</summary>
    public string Summary => Code == StsCredentialIssuer.TagSessionDenied
        ? $"{Code}: the role's trust policy allows sts:AssumeRole but not sts:TagSession, which --session-tags needs"
        : Code;
}
