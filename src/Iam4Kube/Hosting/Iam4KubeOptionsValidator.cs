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

        if (options.MaxViewAge > TimeSpan.Zero && options.MaxViewAge <= options.WatchIdleTimeout)
        {
            // A healthy but quiet watch may be silent for almost the idle timeout: the bound must leave room for it.
            problems.Add("--max-view-age must be longer than --watch-idle-timeout (or 0 to never refuse)");
        }

        return problems;
    }
}
