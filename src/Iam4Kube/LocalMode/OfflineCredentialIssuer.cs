using System.Security.Cryptography;
using Iam4Kube.Credentials;
using Iam4Kube.Roles;

namespace Iam4Kube.LocalMode;

/// <summary>
/// <c>--credentials offline</c>: mints credentials locally for any role, so the whole flow (SDK → metadata API →
/// refresh) runs with no AWS account. They look like STS session credentials and expire and refresh like them, but
/// the access key id says what they are (<c>ASIAOFFLINE…</c>) and AWS rejects them.
/// </summary>
internal sealed partial class OfflineCredentialIssuer(TimeProvider time, ILogger<OfflineCredentialIssuer> logger) : ICredentialIssuer
{
    /// <summary>STS session keys start with ASIA; "OFFLINE" tells anyone who sees one in a log or an error.</summary>
    public const string AccessKeyIdPrefix = "ASIAOFFLINE";
    public const int AccessKeyIdLength = 20;
    public const string SessionTokenPrefix = "IAM4KUBE-OFFLINE-";

    private const string KeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const string SecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    private int _announced;

    public Task<RoleCredentials> IssueAsync(IamRole role, TimeSpan duration, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Exchange(ref _announced, 1) == 0)
        {
            Log.Offline(logger, AccessKeyIdPrefix);
        }

        var now = time.GetUtcNow();
        // Whole seconds, as STS and the metadata API express times: what is served is exactly what was minted.
        now = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        return Task.FromResult(new RoleCredentials(
            AccessKeyIdPrefix + RandomNumberGenerator.GetString(KeyAlphabet, AccessKeyIdLength - AccessKeyIdPrefix.Length),
            RandomNumberGenerator.GetString(SecretAlphabet, 40),
            SessionTokenPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(120)),
            now + duration,
            now));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Offline credentials: every role gets credentials minted locally (access key ids {Prefix}…); AWS rejects them. For local development and demos only")]
        public static partial void Offline(ILogger logger, string prefix);
    }
}
