using Iam4Kube.Stores;

namespace Iam4Kube.Roles;

/// <summary>Reads a ServiceAccount's role annotations into a <see cref="RoleAssignment"/>.</summary>
/// <remarks>The raw values are kept (<see cref="RoleAnnotationValues"/>) so that policy can re-decide from them.</remarks>
internal static class RoleAnnotations
{
    public const string RoleArnKey = "iam.amazonaws.com/roleArn";
    public const string ExternalIdKey = "iam.amazonaws.com/roleExternalId";
    public const string SessionDurationKey = "iam.amazonaws.com/sessionDuration";

    // STS: DurationSeconds 900-43200 (a role's MaxSessionDuration may be lower: then the refresher falls back).
    private const int MinSessionSeconds = 900;
    private const int MaxSessionSeconds = 43200;

    // STS: ExternalId is 2-1224 characters of [\w+=,.@:\/-].
    private const int MinExternalIdLength = 2;
    private const int MaxExternalIdLength = 1224;

    public static RoleAssignment Parse(NamespacedName serviceAccount, IDictionary<string, string>? annotations) =>
        Assign(serviceAccount, Read(annotations));

    /// <summary>The role annotations as written, before any check.</summary>
    public static RoleAnnotationValues Read(IDictionary<string, string>? annotations) =>
        annotations is null
            ? RoleAnnotationValues.Absent
            : new RoleAnnotationValues(
                annotations.TryGetValue(RoleArnKey, out var arn) ? arn : null,
                annotations.TryGetValue(ExternalIdKey, out var externalId) ? externalId : null,
                annotations.TryGetValue(SessionDurationKey, out var duration) ? duration : null);

    public static RoleAssignment Assign(NamespacedName serviceAccount, RoleAnnotationValues annotations)
    {
        if (annotations.RoleArn is not { } arnText)
        {
            var orphan = annotations.ExternalId is not null ? ExternalIdKey : annotations.SessionDuration is not null ? SessionDurationKey : null;
            return orphan is not null
                ? new RoleAssignment.Invalid($"annotation {orphan} is set but {RoleArnKey} is not")
                : RoleAssignment.None.Instance;
        }

        if (!RoleArn.TryParse(arnText, out var arn, out var error))
        {
            return new RoleAssignment.Invalid($"annotation {RoleArnKey}: {error}");
        }

        string? externalId = null;
        if (annotations.ExternalId is { } externalIdText)
        {
            if (!IsValidExternalId(externalIdText, out error))
            {
                return new RoleAssignment.Invalid($"annotation {ExternalIdKey}: {error}");
            }

            externalId = externalIdText;
        }

        TimeSpan? duration = null;
        if (annotations.SessionDuration is { } durationText)
        {
            if (!TryParseSessionDuration(durationText, out var parsed, out error))
            {
                return new RoleAssignment.Invalid($"annotation {SessionDurationKey}: {error}");
            }

            duration = parsed;
        }

        return new RoleAssignment.Assigned(new IamRole(arn, externalId, SessionName.For(serviceAccount.Namespace, serviceAccount.Name))
        {
            ServiceAccount = serviceAccount,
            SessionDuration = duration,
        });
    }

    /// <summary>Seconds ("7200", as STS's DurationSeconds) or a Go-style duration ("2h", "90m"), whole seconds, 900-43200.</summary>
    private static bool TryParseSessionDuration(string text, out TimeSpan duration, out string? error)
    {
        duration = default;
        try
        {
            duration = int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                ? TimeSpan.FromSeconds(seconds)
                : Hosting.Durations.Parse(text);
        }
        catch (FormatException)
        {
            error = $"'{(text.Length > 32 ? text[..32] + "…" : text)}' is neither seconds (3600) nor a duration (1h, 90m)";
            return false;
        }

        if (duration.Ticks % TimeSpan.TicksPerSecond != 0 || duration.TotalSeconds is < MinSessionSeconds or > MaxSessionSeconds)
        {
            error = $"must be whole seconds from {MinSessionSeconds} (15m) to {MaxSessionSeconds} (12h), is {duration.TotalSeconds:0.###} s";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>STS's rules for an external id; shared with the pod annotation <c>iam.amazonaws.com/external-id</c>.</summary>
    public static bool IsValidExternalId(string value, out string? error)
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
