using System.Security.Cryptography;
using System.Text;

namespace Iam4Kube.Testing.Sdk;

/// <summary>botocore from Debian's python3-boto3, as the end-to-end tests run it.</summary>
public static class Botocore
{
    /// <summary>Debian's interpreter: the python3 on PATH may be another one without botocore.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>
    /// botocore's default credential chain (it ends with the instance metadata provider). Prints the access key id,
    /// a fingerprint of the secret (never the secret), whether there is a token and the provider used; exit code 3
    /// when no credentials were found.
    /// </summary>
    public const string CredentialsScript = """
        import hashlib, sys, botocore.session
        session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            print("no credentials", file=sys.stderr)
            sys.exit(3)
        frozen = credentials.get_frozen_credentials()
        print("access_key_id=" + frozen.access_key)
        print("secret_sha256_16=" + hashlib.sha256(frozen.secret_key.encode()).hexdigest()[:16])
        print("has_token=" + str(bool(frozen.token)))
        print("method=" + credentials.method)
        """;

    public static void EnsureInstalled()
    {
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException($"{Python} with python3-boto3 is needed (apt-get install python3-boto3); run ./test.sh, which installs it");
        }
    }

    /// <summary>The key=value lines <see cref="CredentialsScript"/> prints.</summary>
    public static Dictionary<string, string> ParseOutput(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1]);

    /// <summary>The fingerprint the script prints for a secret.</summary>
    public static string SecretFingerprint(string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)))[..16];
}
