namespace Iam4Kube.Testing.Sts;

/// <summary>Credentials <see cref="FakeSts"/> minted, and for which role and session.</summary>
public sealed record StsIssuedCredentials(
    string AccessKeyId,
    string SecretAccessKey,
    string SessionToken,
    DateTimeOffset Expiration,
    string RoleArn,
    string RoleSessionName,
    string? ExternalId,
    string AssumedRoleArn);
