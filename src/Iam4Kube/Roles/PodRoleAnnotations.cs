using System.Diagnostics.CodeAnalysis;
using Iam4Kube.Stores;

namespace Iam4Kube.Roles;

/// <summary>A pod's kube2iam/kiam role annotations exactly as written (compatibility mode, <c>--pod-annotations</c>).</summary>
internal sealed record PodRoleValues(string? Role, string? ExternalId);

/// <summary>
/// Compatibility mode (<c>--pod-annotations</c>): the role a pod names itself, as kube2iam and kiam read it.
/// <c>iam.amazonaws.com/role</c> is a full ARN when it starts with <c>arn:</c>, otherwise a role name (possibly with a
/// path, <c>team/reader</c>; one leading slash is ignored) under <c>--base-role-arn</c>; <c>iam.amazonaws.com/external-id</c>
/// is the external id. <c>--default-role</c> is the role of a pod with no role annotation. The role is assumed with
/// the session name of the pod's ServiceAccount (<c>namespace@serviceaccount</c>), so every pod of one ServiceAccount
/// naming one role shares one session and one credentials cache entry: STS load does not grow with the pods.
/// One pure function, shared by serving (<see cref="Policy.RolePolicy"/>) and admission (<see cref="Policy.RoleAdmission"/>).
/// </summary>
internal static class PodRoleAnnotations
{
    public const string RoleKey = "iam.amazonaws.com/role";
    public const string ExternalIdKey = "iam.amazonaws.com/external-id";
    public const string BaseRoleArnFlag = "--base-role-arn";
    public const string DefaultRoleFlag = "--default-role";

    /// <summary>The two annotations, or null when the pod has neither (most pods: nothing kept for them).</summary>
    public static PodRoleValues? Read(IDictionary<string, string>? annotations)
    {
        if (annotations is null)
        {
            return null;
        }

        annotations.TryGetValue(RoleKey, out var role);
        annotations.TryGetValue(ExternalIdKey, out var externalId);
        return role is null && externalId is null ? null : new PodRoleValues(role, externalId);
    }

    /// <summary>
    /// <c>--base-role-arn</c> as a prefix a role name is appended to: <c>arn:PARTITION:iam::ACCOUNT:role/</c>, optionally
    /// with a path (<c>…:role/k8s/</c>); written with or without its trailing slash.
    /// </summary>
    public static bool TryParseBase(string text, [NotNullWhen(true)] out string? prefix, [NotNullWhen(false)] out string? error)
    {
        prefix = text.EndsWith('/') ? text : text + "/";
        // A role name appended must make a valid role ARN: that checks partition, account, "role/" and the path.
        if (!RoleArn.TryParse(prefix + "x", out _, out error))
        {
            error = $"expected arn:PARTITION:iam::ACCOUNT_ID:role/ or arn:PARTITION:iam::ACCOUNT_ID:role/PATH/ ({error})";
            prefix = null;
            return false;
        }

        return true;
    }

    /// <summary>The role <paramref name="text"/> names: a full ARN, or a name under <paramref name="baseRoleArn"/>.</summary>
    public static bool TryResolve(string text, string? baseRoleArn, [NotNullWhen(true)] out RoleArn? arn, [NotNullWhen(false)] out string? error)
    {
        if (text.StartsWith("arn:", StringComparison.Ordinal))
        {
            return RoleArn.TryParse(text, out arn, out error);
        }

        arn = null;
        if (text.Length == 0)
        {
            error = "the role is empty";
            return false;
        }

        if (baseRoleArn is null)
        {
            error = $"'{Excerpt(text)}' is a role name, not an ARN, and iam4kube has no {BaseRoleArnFlag} to resolve it under: write the full role ARN, or set {BaseRoleArnFlag}";
            return false;
        }

        var name = text.StartsWith('/') ? text[1..] : text;
        if (!RoleArn.TryParse(baseRoleArn + name, out arn, out var arnError))
        {
            error = $"'{Excerpt(text)}' under {BaseRoleArnFlag} {baseRoleArn} is not a valid role: {arnError}";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>
    /// What a pod of <paramref name="serviceAccount"/> with <paramref name="values"/> gets when its ServiceAccount
    /// assigns no role: its own annotation's role, else <paramref name="defaultRole"/>, else none. Malformed
    /// annotations are <see cref="RoleAssignment.Invalid"/> (never the default role: the pod asked for something).
    /// </summary>
    public static RoleAssignment Assign(NamespacedName serviceAccount, PodRoleValues? values, string? baseRoleArn, RoleArn? defaultRole)
    {
        if (values?.Role is not { } roleText)
        {
            if (values?.ExternalId is not null)
            {
                return new RoleAssignment.Invalid($"annotation {ExternalIdKey} is set but {RoleKey} is not");
            }

            return defaultRole is null ? RoleAssignment.None.Instance : new RoleAssignment.Assigned(RoleFor(serviceAccount, defaultRole, null));
        }

        if (!TryResolve(roleText, baseRoleArn, out var arn, out var error))
        {
            return new RoleAssignment.Invalid($"annotation {RoleKey}: {error}");
        }

        if (values.ExternalId is { } externalId && !RoleAnnotations.IsValidExternalId(externalId, out error))
        {
            return new RoleAssignment.Invalid($"annotation {ExternalIdKey}: {error}");
        }

        return new RoleAssignment.Assigned(RoleFor(serviceAccount, arn, values.ExternalId));
    }

    private static IamRole RoleFor(NamespacedName serviceAccount, RoleArn arn, string? externalId) =>
        new(arn, externalId, SessionName.For(serviceAccount.Namespace, serviceAccount.Name)) { ServiceAccount = serviceAccount };

    /// <summary>Annotations are written by whoever may create a pod: echo at most a bounded part of them.</summary>
    private static string Excerpt(string value) => value.Length <= 64 ? value : $"{value[..64]}… ({value.Length} characters)";
}
