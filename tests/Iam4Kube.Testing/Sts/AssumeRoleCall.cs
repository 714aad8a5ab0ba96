namespace Iam4Kube.Testing.Sts;

/// <summary>One AssumeRole request <see cref="FakeSts"/> received, whatever it answered.</summary>
/// <param name="RoleArn">The <c>RoleArn</c> parameter (empty when missing).</param>
/// <param name="RoleSessionName">The <c>RoleSessionName</c> parameter (empty when missing).</param>
/// <param name="ExternalId">The <c>ExternalId</c> parameter, when sent.</param>
/// <param name="DurationSeconds">The <c>DurationSeconds</c> parameter, or STS's default of 3600 when not sent.</param>
/// <param name="At">When the request arrived.</param>
/// <param name="AccessKeyIdIssued">The access key id minted for it; null when the call failed.</param>
public sealed record AssumeRoleCall(
    string RoleArn,
    string RoleSessionName,
    string? ExternalId,
    int DurationSeconds,
    DateTimeOffset At,
    string? AccessKeyIdIssued)
{
    /// <summary>The session tags (<c>Tags.member.N.Key/Value</c>), in N order, as "key=value".</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The <c>TransitiveTagKeys.member.N</c> values, in N order.</summary>
    public IReadOnlyList<string> TransitiveTagKeys { get; init; } = [];

    /// <summary>The access key id the request was signed with (from its SigV4 Authorization header), when signed.</summary>
    public string? CallerAccessKeyId { get; init; }
}
