namespace Iam4Kube.PodIdentity;

/// <summary>What the API server confirmed about a ServiceAccount token: whose it is, bound to which pod, until when.</summary>
internal sealed record VerifiedToken(string Namespace, string ServiceAccount, string PodName, string PodUid, DateTimeOffset Expires);

/// <summary>A token's verdict: <see cref="Token"/> when verified, else the refusal's outcome and why.</summary>
internal readonly record struct TokenVerification(VerifiedToken? Token, Outcomes.Outcome Outcome, string? Detail = null)
{
    public static TokenVerification Verified(VerifiedToken token) => new(token, Outcomes.Outcome.Resolved);

    public static TokenVerification Refused(Outcomes.Outcome outcome, string detail) => new(null, outcome, detail);
}
