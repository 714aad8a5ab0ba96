using System.Security.Cryptography;
using System.Text;

namespace Iam4Kube.Roles;

/// <summary>
/// The STS role session name for a ServiceAccount: <c>namespace@serviceaccount</c>, so CloudTrail shows which
/// workload made a call. STS allows 2-64 characters of <c>[\w+=,.@-]</c>.
/// </summary>
internal static class SessionName
{
    public const int MaxLength = 64;
    private const int HashLength = 10;

    public static bool IsAllowedCharacter(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '=' or ',' or '.' or '@' or '-';

    /// <summary>
    /// Kubernetes names are DNS labels/subdomains, always valid here; anything else is replaced by '-'. Names longer
    /// than 64 characters keep a readable prefix and end in a hash of the full name, so two ServiceAccounts never
    /// share a session name (and so never share a cache entry or a CloudTrail identity).
    /// </summary>
    public static string For(string @namespace, string serviceAccount)
    {
        var full = $"{@namespace}@{serviceAccount}";
        var clean = new string(full.Select(c => IsAllowedCharacter(c) ? c : '-').ToArray());
        if (clean.Length <= MaxLength && clean == full)
        {
            return full;
        }

        // Hash the original, not the cleaned name: cleaning can map two names to one.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..HashLength];
        var prefix = clean[..Math.Min(clean.Length, MaxLength - HashLength - 1)];
        return $"{prefix}-{hash}";
    }
}
