namespace Iam4Kube.Credentials;

/// <summary>
/// Why the last attempt to get credentials for a role failed. <c>Code</c> is the STS error code (AccessDenied,
/// Throttling, …) or a transport error name. <c>Permanent</c> is true when retrying will not help until someone
/// changes IAM or the annotation (e.g. the role does not trust iam4kube): such failures are retried only slowly
/// and do not hold readiness back.
/// </summary>
internal sealed record CredentialFailure(string Code, string Message, bool Permanent, DateTimeOffset At);
