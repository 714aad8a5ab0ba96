using Iam4Kube.Cluster;

namespace Iam4Kube.Roles;

/// <summary>Reads a ServiceAccount's role annotations into a <see cref="RoleAssignment"/>.</summary>
internal static class RoleAnnotations
{
    public const string RoleArnKey = "iam.amazonaws.com/roleArn";
    public const string ExternalIdKey = "iam.amazonaws.com/roleExternalId";

    // STS: ExternalId is 2-1224 characters of [\w+=,.@:\/-].
    private const int MinExternalIdLength = 2;
    private const int MaxExternalIdLength = 1224;

    public static RoleAssignment Parse(NamespacedName serviceAccount, IDictionary<string, string>? annotations)
    {
        if (annotations is null || !annotations.TryGetValue(RoleArnKey, out var arnText))
        {
            return annotations is not null && annotations.ContainsKey(ExternalIdKey)
                ? new RoleAssignment.Invalid($"annotation {ExternalIdKey} is set but {RoleArnKey} is not")
                : RoleAssignment.None.Instance;
        }

        if (!RoleArn.TryParse(arnText, out var arn, out var error))
        {
            return new RoleAssignment.Invalid($"annotation {RoleArnKey}: {error}");
        }

        string? externalId = null;
        if (annotations.TryGetValue(ExternalIdKey, out var externalIdText))
        {
            if (!IsValidExternalId(externalIdText, out error))
            {
                return new RoleAssignment.Invalid($"annotation {ExternalIdKey}: {error}");
            }

            externalId = externalIdText;
        }

        return new RoleAssignment.Assigned(new IamRole(arn, externalId, SessionName.For(serviceAccount.Namespace, serviceAccount.Name))
        {
            ServiceAccount = serviceAccount,
        });
    }

    private static bool IsValidExternalId(string value, out string? error)
    {
        if (value.Length is < MinExternalIdLength or > MaxExternalIdLength)
        {
            error = $"must be {MinExternalIdLength}-{MaxExternalIdLength} characters, is {value.Length}";
            return false;
        }

        foreach (var c in value)
        {
            if (!(SessionName.IsAllowedCharacter(c) || c is ':' or '/'))
            {
                error = "may contain only letters, digits and +=,.@:/_-";
                return false;
            }
        }

        error = null;
        return true;
    }
}
