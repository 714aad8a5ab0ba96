using System.Globalization;
using System.Text.RegularExpressions;

namespace Iam4Kube.Testing.Sts;

/// <summary>The parameters of an AssumeRole request, checked as STS checks them.</summary>
internal sealed partial record AssumeRoleParameters(string RoleArn, string RoleSessionName, string? ExternalId, int DurationSeconds)
{
    /// <summary>Session tags as "key=value", from <c>Tags.member.1</c> on, as the Query protocol numbers them.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    public IReadOnlyList<string> TransitiveTagKeys { get; init; } = [];

    public const int DefaultDurationSeconds = 3600;

    public static AssumeRoleParameters From(IReadOnlyDictionary<string, string> parameters)
    {
        var duration = parameters.GetValueOrDefault("DurationSeconds");
        var tags = new List<string>();
        for (var n = 1; parameters.TryGetValue($"Tags.member.{n}.Key", out var key); n++)
        {
            tags.Add($"{key}={parameters.GetValueOrDefault($"Tags.member.{n}.Value")}");
        }

        var transitive = new List<string>();
        for (var n = 1; parameters.TryGetValue($"TransitiveTagKeys.member.{n}", out var key); n++)
        {
            transitive.Add(key);
        }

        return new AssumeRoleParameters(
            parameters.GetValueOrDefault("RoleArn") ?? string.Empty,
            parameters.GetValueOrDefault("RoleSessionName") ?? string.Empty,
            parameters.GetValueOrDefault("ExternalId"),
            int.TryParse(duration, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                ? seconds
                : duration is null ? DefaultDurationSeconds : -1)
        {
            Tags = tags,
            TransitiveTagKeys = transitive,
        };
    }

    /// <summary>The role's name: the last segment of the ARN's resource, after any path.</summary>
    public string RoleName => RoleArn[(RoleArn.LastIndexOf('/') + 1)..];

    public string Partition => RoleArn.Split(':')[1];

    public string Account => RoleArn.Split(':')[4];

    /// <summary>STS's own validation errors for these parameters, the first one found; null when they are valid.</summary>
    public StsError? Validate()
    {
        if (RoleArn.Length == 0)
        {
            return Error("null", "roleArn", "Member must not be null");
        }

        if (RoleArn.Length is < 20 or > 2048)
        {
            return Error($"'{RoleArn}'", "roleArn", RoleArn.Length < 20
                ? "Member must have length greater than or equal to 20"
                : "Member must have length less than or equal to 2048");
        }

        if (!RoleArnPattern().IsMatch(RoleArn))
        {
            return StsError.Validation($"{RoleArn} is invalid");
        }

        if (RoleSessionName.Length == 0)
        {
            return Error("null", "roleSessionName", "Member must not be null");
        }

        if (RoleSessionName.Length is < 2 or > 64)
        {
            return Error($"'{RoleSessionName}'", "roleSessionName", RoleSessionName.Length < 2
                ? "Member must have length greater than or equal to 2"
                : "Member must have length less than or equal to 64");
        }

        if (!SessionNamePattern().IsMatch(RoleSessionName))
        {
            return Error($"'{RoleSessionName}'", "roleSessionName", @"Member must satisfy regular expression pattern: [\w+=,.@-]*");
        }

        if (ExternalId is not null)
        {
            if (ExternalId.Length is < 2 or > 1224)
            {
                return Error($"'{ExternalId}'", "externalId", ExternalId.Length < 2
                    ? "Member must have length greater than or equal to 2"
                    : "Member must have length less than or equal to 1224");
            }

            if (!ExternalIdPattern().IsMatch(ExternalId))
            {
                return Error($"'{ExternalId}'", "externalId", @"Member must satisfy regular expression pattern: [\w+=,.@:\/-]*");
            }
        }

        return DurationSeconds switch
        {
            < 900 => Error(DurationSeconds.ToString(CultureInfo.InvariantCulture), "durationSeconds", "Member must have value greater than or equal to 900"),
            > 43200 => Error(DurationSeconds.ToString(CultureInfo.InvariantCulture), "durationSeconds", "Member must have value less than or equal to 43200"),
            _ => null,
        };
    }

    private static StsError Error(string value, string member, string constraint) =>
        StsError.Validation($"1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: {constraint}");

    [GeneratedRegex(@"^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]+$", RegexOptions.ECMAScript)]
    private static partial Regex RoleArnPattern();

    [GeneratedRegex(@"^[\w+=,.@-]*$", RegexOptions.ECMAScript)]
    private static partial Regex SessionNamePattern();

    [GeneratedRegex(@"^[\w+=,.@:\/-]*$", RegexOptions.ECMAScript)]
    private static partial Regex ExternalIdPattern();
}
