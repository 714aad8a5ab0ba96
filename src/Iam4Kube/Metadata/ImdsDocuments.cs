using System.Text.Json;
using System.Text.Json.Serialization;

namespace Iam4Kube.Metadata;

/// <summary>
/// The body of <c>/latest/meta-data/iam/security-credentials/{role}</c>, with EC2's field names and order, and of
/// <c>…/security-credentials-extended/{role}</c>, which adds <c>AccountId</c> last (the order of the cross-SDK IMDS
/// credentials test cases, which mirror EC2's answer). A null <c>AccountId</c> is left out.
/// </summary>
internal sealed record CredentialsDocument(
    string Code,
    string LastUpdated,
    string Type,
    string AccessKeyId,
    string SecretAccessKey,
    string Token,
    string Expiration,
    string? AccountId = null);

/// <summary>The body of <c>/latest/meta-data/iam/info</c>.</summary>
internal sealed record IamInfoDocument(string Code, string LastUpdated, string InstanceProfileArn, string InstanceProfileId);

/// <summary>
/// The subset of <c>/latest/dynamic/instance-identity/document</c> iam4kube can state truthfully for a pod: where
/// it runs. SDKs read <c>region</c> from it for region discovery.
/// </summary>
internal sealed record InstanceIdentityDocument(
    [property: JsonPropertyName("accountId")] string? AccountId,
    [property: JsonPropertyName("availabilityZone")] string? AvailabilityZone,
    [property: JsonPropertyName("privateIp")] string PrivateIp,
    [property: JsonPropertyName("region")] string Region,
    [property: JsonPropertyName("version")] string Version);

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CredentialsDocument))]
[JsonSerializable(typeof(IamInfoDocument))]
[JsonSerializable(typeof(InstanceIdentityDocument))]
internal sealed partial class ImdsJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Like EC2, writes secrets as they are: the default encoder would turn the '+' of secret keys into \u002B.
    /// Parsers accept both, but people compare what curl shows with what their SDK reports. The bodies are
    /// text/plain for SDKs, never embedded in HTML, which is what the relaxed encoder's name warns about.
    /// </summary>
    public static ImdsJsonContext Ec2 { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
