using Iam4Kube.Outcomes;

namespace Iam4Kube.Credentials;

/// <summary>What a role's caller gets now: credentials fresh enough to serve, or why not (denied, unavailable).</summary>
internal readonly record struct CredentialsDecision(Outcome Outcome, RoleCredentials? Credentials = null, string? Detail = null);
