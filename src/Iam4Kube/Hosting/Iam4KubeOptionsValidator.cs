using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Iam4Kube.Hosting;

[OptionsValidator]
internal sealed partial class Iam4KubeOptionsValidator : IValidateOptions<Iam4KubeOptions>
{
    /// <summary>
    /// The flag of each option whose name is not its flag's in kebab case; the range messages name flags, since
    /// that is what the user typed.
    /// </summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        [nameof(Iam4KubeOptions.MaxParkedRequests)] = "--max-parked",
    };

    /// <summary>
    /// The attribute checks (named by flag) plus the rules that span several options. <c>regionSource</c> says where
    /// the region came from (--region, AWS_REGION or AWS_DEFAULT_REGION), so that the message names it.
    /// </summary>
    public static IReadOnlyList<string> Problems(Iam4KubeOptions options, string regionSource = "--region")
    {
        var problems = new List<string>();
        foreach (var property in typeof(Iam4KubeOptions).GetProperties())
        {
            var value = property.GetValue(options);
            foreach (var attribute in property.GetCustomAttributes(inherit: true))
            {
                (object Minimum, object Maximum)? bounds = attribute switch
                {
                    RangeAttribute range when !range.IsValid(value) => (range.Minimum, range.Maximum),
                    DurationRangeAttribute range when !range.IsValid(value) => (range.Minimum, range.Maximum),
                    _ => null,
                };
                if (bounds is (var minimum, var maximum))
                {
                    problems.Add($"{Flag(property.Name)} must be between {Show(minimum)} and {Show(maximum)}");
                }
            }
        }

        if (options.Listen.Port != 0 && options.Listen.Port == options.AdminListen.Port)
        {
            problems.Add("--listen and --admin-listen must use different ports");
        }

        if (options.TokenListen is { } token)
        {
            if (token.Port != 0 && (token.Port == options.Listen.Port || token.Port == options.AdminListen.Port))
            {
                problems.Add("--token-listen must use another port than --listen and --admin-listen");
            }

            if (options.ClusterFile is not null)
            {
                problems.Add("--token-listen needs a cluster: tokens are verified by the API server (TokenReview), which --cluster-file has not");
            }

            if (string.IsNullOrWhiteSpace(options.TokenAudience) || options.TokenAudience.Any(char.IsWhiteSpace))
            {
                problems.Add($"--token-audience '{options.TokenAudience}' must be one word without spaces");
            }
        }

        if (options.WebhookListen is { } webhook)
        {
            if (webhook.Port != 0 && (webhook.Port == options.Listen.Port || webhook.Port == options.AdminListen.Port || webhook.Port == options.TokenListen?.Port))
            {
                problems.Add("--webhook-listen must use another port than --listen, --admin-listen and --token-listen");
            }

            if (options.ClusterFile is not null)
            {
                problems.Add("--webhook-listen needs a cluster: kube-apiserver calls the webhooks, which --cluster-file has not");
            }
        }

        if (options.Kubeconfig is not null && options.ClusterFile is not null)
        {
            problems.Add("--kubeconfig and --cluster-file exclude each other");
        }

        if (options.AllowOfflineInCluster && options.Credentials != CredentialSource.Offline)
        {
            problems.Add("--allow-offline-in-cluster applies only with --credentials offline");
        }

        if (options.StsEndpoint is not null && !(Uri.TryCreate(options.StsEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            problems.Add($"--sts-endpoint '{options.StsEndpoint}' is not an http(s) URL");
        }

        if (options.Region is not null && !System.Text.RegularExpressions.Regex.IsMatch(options.Region, "^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$"))
        {
            problems.Add(options.Region == RegionPlaceholder
                ? $"{regionSource} is still {RegionPlaceholder}: set the cluster's AWS region (deploy/overlays/production: AWS_REGION in configMapGenerator)"
                : $"{regionSource} '{options.Region}' is not an AWS region name (like eu-west-1)");
        }

        if (options.StsFips && options.StsEndpoint is not null)
        {
            problems.Add("--sts-fips and --sts-endpoint (or AWS_ENDPOINT_URL_STS) exclude each other: an explicit endpoint is used as it is");
        }

        if (options.ClusterName is { } cluster && !options.SessionTags)
        {
            problems.Add($"--cluster-name '{cluster}' applies only with --session-tags (it is the eks-cluster-name session tag)");
        }

        // An STS tag value: at most 256 characters of letters, digits, spaces and _.:/=+-@; EKS cluster names fit.
        if (options.ClusterName is { } name && !System.Text.RegularExpressions.Regex.IsMatch(name, @"^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$"))
        {
            problems.Add($"--cluster-name '{name}' is not a valid session tag value (1-256 letters, digits, spaces and _.:/=+-@)");
        }

        if (options.AssumeRoleArn is { } controller)
        {
            if (!Roles.RoleArn.TryParse(controller, out _, out var error))
            {
                problems.Add($"--assume-role-arn: {error}");
            }

            if (options.Credentials != CredentialSource.Sts)
            {
                problems.Add("--assume-role-arn applies only with --credentials sts");
            }

            if (options.SessionDuration > Credentials.ControllerRole.ChainedSessionLimit)
            {
                problems.Add($"--session-duration {options.SessionDuration.TotalHours:0.##}h is refused with --assume-role-arn: STS limits sessions assumed through another role (role chaining) to 1h");
            }
        }

        if (options.MaxViewAge > TimeSpan.Zero && options.MaxViewAge <= options.WatchIdleTimeout)
        {
            // A healthy but quiet watch may be silent for almost the idle timeout: the bound must leave room for it.
            problems.Add("--max-view-age must be longer than --watch-idle-timeout (or 0 to never refuse)");
        }

        foreach (var glob in options.AllowedRoles)
        {
            if (!Policy.RolePattern.TryGlob(glob, out _, out var error))
            {
                problems.Add($"--allowed-roles '{glob}': {error}");
            }
        }

        if (options.NamespaceRestrictions && options.ClusterFile is not null)
        {
            // A cluster file holds no Namespaces: every role would be refused, which is surely not what was meant.
            problems.Add("--namespace-restrictions needs Namespaces from an API server; local mode (--cluster-file) has none");
        }

        problems.AddRange(PodAnnotationProblems(options));
        return problems;
    }

    /// <summary>--pod-annotations, --base-role-arn and --default-role: a malformed base or default fails at start-up, not per pod.</summary>
    private static IEnumerable<string> PodAnnotationProblems(Iam4KubeOptions options)
    {
        string? prefix = null;
        if (options.BaseRoleArn is { } baseText && !Roles.PodRoleAnnotations.TryParseBase(baseText, out prefix, out var baseError))
        {
            yield return $"--base-role-arn '{baseText}': {baseError}";
        }

        if (options.BaseRoleArn is not null && !options.PodAnnotations)
        {
            yield return "--base-role-arn applies only with --pod-annotations (it resolves role names in pods' iam.amazonaws.com/role)";
        }

        if (options.DefaultRole is not { } defaultText)
        {
            yield break;
        }

        if (!options.PodAnnotations)
        {
            yield return "--default-role requires --pod-annotations (it is the role of pods that name none, as kube2iam's --default-role)";
        }
        else if ((options.BaseRoleArn is null || prefix is not null) && !Roles.PodRoleAnnotations.TryResolve(defaultText, prefix, out _, out var error))
        {
            yield return $"--default-role '{defaultText}': {error}";
        }
    }

    /// <summary>What the production overlay ships as AWS_REGION, so that nobody runs it in a region by accident.</summary>
    public const string RegionPlaceholder = "REPLACE_WITH_AWS_REGION";

    private static string Flag(string property) => Flags.TryGetValue(property, out var flag)
        ? flag
        : "--" + System.Text.RegularExpressions.Regex.Replace(property, "(?<!^)([A-Z])", "-$1").ToLowerInvariant();

    /// <summary>Bounds as the flags are written: 15m, 12h, 0s rather than 00:15:00.</summary>
    private static string Show(object bound) => bound switch
    {
        TimeSpan span when span == TimeSpan.Zero => "0s",
        TimeSpan span when span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) => $"{span.TotalHours:0}h",
        TimeSpan span when span.TotalMinutes == Math.Floor(span.TotalMinutes) => $"{span.TotalMinutes:0}m",
        TimeSpan span => $"{span.TotalSeconds:0.###}s",
        IFormattable number => number.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => bound.ToString() ?? "",
    };
}
