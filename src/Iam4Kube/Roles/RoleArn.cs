using System.Diagnostics.CodeAnalysis;

namespace Iam4Kube.Roles;

/// <summary>
/// A validated IAM role ARN: <c>arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME</c>.
/// </summary>
internal sealed record RoleArn
{
    private static readonly string[] Partitions = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

    // IAM limits: role names 1-64 of [\w+=,.@-]; paths up to 512 of printable ASCII between slashes.
    private const int MaxRoleNameLength = 64;
    private const int MaxArnLength = 2048;

    private RoleArn(string value, string partition, string accountId, string path, string roleName)
    {
        Value = value;
        Partition = partition;
        AccountId = accountId;
        Path = path;
        RoleName = roleName;
    }

    public string Value { get; }

    public string Partition { get; }

    public string AccountId { get; }

    /// <summary>The role path, "/" when none, otherwise "/a/b/".</summary>
    public string Path { get; }

    /// <summary>The role name, the last path segment: what IMDS lists under security-credentials/.</summary>
    public string RoleName { get; }

    public override string ToString() => Value;

    public static bool TryParse(string? text, [NotNullWhen(true)] out RoleArn? arn, [NotNullWhen(false)] out string? error)
    {
        arn = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "the role ARN is empty";
            return false;
        }

        if (text.Length > MaxArnLength)
        {
            error = $"the role ARN is {text.Length} characters long; at most {MaxArnLength} are allowed";
            return false;
        }

        if (text.AsSpan().IndexOfAny(" \t\r\n") >= 0)
        {
            error = "the role ARN contains white space";
            return false;
        }

        var parts = text.Split(':', 6);
        if (parts.Length != 6 || parts[0] != "arn")
        {
            error = "not an ARN: expected arn:PARTITION:iam::ACCOUNT_ID:role/NAME";
            return false;
        }

        var (partition, service, region, account, resource) = (parts[1], parts[2], parts[3], parts[4], parts[5]);
        if (!Partitions.Contains(partition))
        {
            error = $"unknown AWS partition '{Excerpt(partition)}'";
            return false;
        }

        if (service != "iam")
        {
            error = $"the ARN is for service '{Excerpt(service)}', not 'iam'";
            return false;
        }

        if (region.Length != 0)
        {
            error = "IAM ARNs have no region, but this one has one";
            return false;
        }

        if (account.Length != 12 || !account.All(char.IsAsciiDigit))
        {
            error = $"'{Excerpt(account)}' is not a 12-digit AWS account id";
            return false;
        }

        if (!resource.StartsWith("role/", StringComparison.Ordinal))
        {
            error = $"the ARN names '{Excerpt(resource.Split('/')[0])}', not a role";
            return false;
        }

        var pathAndName = resource["role/".Length..];
        var lastSlash = pathAndName.LastIndexOf('/');
        var name = pathAndName[(lastSlash + 1)..];
        var path = lastSlash < 0 ? "/" : "/" + pathAndName[..(lastSlash + 1)];
        if (name.Length is 0 or > MaxRoleNameLength || !name.All(SessionName.IsAllowedCharacter))
        {
            error = $"'{Excerpt(name)}' is not a valid role name (1-{MaxRoleNameLength} of letters, digits and +=,.@_-)";
            return false;
        }

        if (path.Length > 512 || path.Contains("//", StringComparison.Ordinal) || !path.All(c => c is >= '!' and <= '~'))
        {
            error = $"'{Excerpt(path)}' is not a valid IAM path";
            return false;
        }

        arn = new RoleArn(text, partition, account, path, name);
        error = null;
        return true;
    }

    /// <summary>Annotations are written by whoever may edit a ServiceAccount: echo at most a bounded part of them.</summary>
    private static string Excerpt(string value) => value.Length <= 64 ? value : $"{value[..64]}… ({value.Length} characters)";

    public bool Equals(RoleArn? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);
}
