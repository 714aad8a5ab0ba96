using Microsoft.Extensions.Options;

namespace Iam4Kube.Hosting;

[OptionsValidator]
internal sealed partial class Iam4KubeOptionsValidator : IValidateOptions<Iam4KubeOptions>
{
    /// <summary>The attribute checks plus the rules that span several options.</summary>
    public static IReadOnlyList<string> Problems(Iam4KubeOptions options)
    {
        var problems = new List<string>();
        var result = new Iam4KubeOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            problems.AddRange(result.Failures);
        }

        if (options.Listen.Port != 0 && options.Listen.Port == options.AdminListen.Port)
        {
            problems.Add("--listen and --admin-listen must use different ports");
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
            problems.Add($"--region '{options.Region}' is not an AWS region name (like eu-west-1)");
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

        return problems;
    }
}
