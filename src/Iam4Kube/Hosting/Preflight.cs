using Amazon.Runtime.CredentialManagement;
using Iam4Kube.Metadata;
using Iam4Kube.Shared;

namespace Iam4Kube.Hosting;

/// <summary>
/// Resolves, between parsing and building the host, what the DI factories would otherwise discover too late (as
/// stack traces, or as an STS client retrying forever): the cluster configuration, the AWS region and ambient
/// credentials for <c>--credentials sts</c>, and the token key. Each problem is one line naming the flag or the
/// variable that fixes it; the program prints them and exits with code 2. Nothing here calls AWS or the cluster.
/// </summary>
internal static class Preflight
{
    public static IReadOnlyList<string> Problems(Iam4KubeOptions options, Func<string, string?> environment, InClusterProbe inCluster)
    {
        var problems = new List<string>();
        if (options.ClusterFile is null
            && KubernetesPreflight.Load(options.Kubeconfig, environment, ", or --cluster-file PATH for local mode").Problem is { } cluster)
        {
            problems.Add(cluster);
        }

        if (options.Credentials == CredentialSource.Sts)
        {
            // Inside a cluster the node's own metadata service supplies both (the instance role and its region).
            var onANode = inCluster.Evidence() is not null;
            var profile = Profile(environment, out var profileProblem);
            if (profileProblem is not null)
            {
                problems.Add(profileProblem);
            }

            if (options.Region is null && options.StsEndpoint is null && profile?.Region is null && !onANode)
            {
                problems.Add("--credentials sts needs an AWS region: give --region REGION or set AWS_REGION (or use --credentials offline for local mode)");
            }

            if (profileProblem is null && CredentialsProblem(environment, profile, onANode) is { } credentials)
            {
                problems.Add(credentials);
            }
        }

        if (options.TokenKeyFile is { } keyFile)
        {
            try
            {
                _ = ImdsTokens.LoadKey(keyFile);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                problems.Add($"--token-key-file {keyFile}: {e.Message}");
            }
        }

        return problems;
    }

    /// <summary>The AWS profile the SDK's default chain would read (AWS_PROFILE, else "default"), from the shared files.</summary>
    private static CredentialProfile? Profile(Func<string, string?> environment, out string? problem)
    {
        problem = null;
        var named = environment("AWS_PROFILE") is { Length: > 0 } name ? name : null;
        if (new CredentialProfileStoreChain().TryGetProfile(named ?? "default", out var profile))
        {
            return profile;
        }

        if (named is not null)
        {
            problem = $"AWS_PROFILE={named}: no such profile in the AWS config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, ~/.aws)";
        }

        return null;
    }

    /// <summary>
    /// The sources of the SDK's default credential chain that can be seen without a network call. A node's instance
    /// role is the one source that cannot: it is assumed inside a cluster and not outside one.
    /// </summary>
    private static string? CredentialsProblem(Func<string, string?> environment, CredentialProfile? profile, bool onANode)
    {
        var accessKey = environment("AWS_ACCESS_KEY_ID") is { Length: > 0 };
        var secretKey = environment("AWS_SECRET_ACCESS_KEY") is { Length: > 0 };
        if (accessKey != secretKey)
        {
            return accessKey
                ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither"
                : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or neither";
        }

        var found = accessKey
            || profile is not null
            || environment("AWS_WEB_IDENTITY_TOKEN_FILE") is { Length: > 0 }
            || environment("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") is { Length: > 0 }
            || environment("AWS_CONTAINER_CREDENTIALS_FULL_URI") is { Length: > 0 }
            || onANode;
        return found
            ? null
            : "--credentials sts found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
                + "(a profile in ~/.aws), or use --credentials offline for local mode";
    }
}
