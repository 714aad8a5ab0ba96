using Iam4Kube.Hosting;
using Iam4Kube.Stores;

namespace Iam4Kube.Metadata;

/// <summary>
/// Where IMDSv1 is closed, as EC2's <c>HttpTokens=required</c>: for every pod (<c>--imds-tokens required</c>), or for
/// the pods of a ServiceAccount annotated <c>iam4kube.io/imds-tokens: required</c>. A request without a token is then
/// refused (401), so a proxy or an SSRF bug that relays a GET cannot fetch the pod's credentials: relaying the PUT
/// that obtains a token is refused already (403 with <c>X-Forwarded-For</c>), and the hop limit of the token answer
/// does the rest on EC2. The default stays optional: some SDKs still speak only IMDSv1 (docs/security.md).
/// </summary>
/// <remarks>A Namespace annotation would be the natural next step once a Namespace informer exists.</remarks>
internal sealed class ImdsTokenRequirement(Iam4KubeOptions options, ServiceAccountStore serviceAccounts)
{
    public const string AnnotationKey = "iam4kube.io/imds-tokens";

    /// <summary>Tokens are required for every pod: a tokenless request is refused before anything is resolved.</summary>
    public bool Everywhere => options.RequireImdsTokens;

    /// <summary>Why <paramref name="pod"/> needs a token (its ServiceAccount says so), or null when it does not.</summary>
    public string? For(PodInfo pod)
    {
        if (Everywhere)
        {
            return "IMDSv2 is required (--imds-tokens required): PUT /latest/api/token first";
        }

        return serviceAccounts.Get(pod.ServiceAccountName)?.ImdsTokens switch
        {
            null or "optional" => null,
            "required" => $"ServiceAccount {pod.ServiceAccountName} requires IMDSv2 ({AnnotationKey}: required): PUT /latest/api/token first",
            var other => $"ServiceAccount {pod.ServiceAccountName} has {AnnotationKey}: '{Truncate(other)}', which is neither required nor optional: "
                + "IMDSv2 is required until it is fixed; PUT /latest/api/token first",
        };
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
