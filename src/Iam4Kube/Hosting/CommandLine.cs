using System.Globalization;
using System.Net;

namespace Iam4Kube.Hosting;

/// <summary>
/// Parses iam4kube's flags (as in docs/architecture: <c>--flag value</c> or <c>--flag=value</c>) into validated
/// options. Environment variables fill what the flags leave out: AWS_REGION (or AWS_DEFAULT_REGION) and
/// AWS_ENDPOINT_URL_STS, as the AWS SDKs honour them.
/// </summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: iam4kube [flags]

        Serves each pod the AWS credentials of its ServiceAccount's IAM role through an emulated EC2 metadata API.

        Flags:
          --listen ADDR:PORT         metadata API listener (default 0.0.0.0:8080)
          --admin-listen ADDR:PORT   /healthz, /readyz and /metrics (default 0.0.0.0:9090)
          --kubeconfig PATH          kubeconfig file (default: in-cluster config, else KUBECONFIG, else ~/.kube/config)
          --cluster-file PATH        read Pods, ServiceAccounts and Nodes from a YAML file instead of a cluster
                                     (local mode; the file is followed as it is edited)
          --credentials sts|offline  where role credentials come from (default sts). sts: AssumeRole with the
                                     ambient AWS credentials (environment, profile, instance role). offline:
                                     fake credentials minted locally for any role (access keys ASIAOFFLINE…),
                                     for local mode with no AWS account; refused inside a cluster
          --allow-offline-in-cluster allow --credentials offline inside a Kubernetes cluster (tests and demos)
          --sts-endpoint URL         STS endpoint (default: AWS_ENDPOINT_URL_STS, else the regional endpoint)
          --region REGION            AWS region (default: AWS_REGION, AWS_DEFAULT_REGION)
          --sts-rate N               AssumeRole calls per second (default 10)
          --sts-burst N              AssumeRole calls allowed at once before the rate applies (default 20)
          --session-duration D       role session duration, 15m to 12h (default 1h)
          --wait-timeout D           how long a request waits for an unknown pod, ServiceAccount or
                                     credentials (default 15s)
          --max-parked N             requests allowed to wait at once; more get 503 (default 10000)
          --shutdown-delay D         after SIGTERM, keep serving while unready this long (default 5s)
          --drain-timeout D          then give in-flight requests this long to finish (default 20s)
          --token-key-file PATH      secret shared by all replicas to sign IMDSv2 tokens (default: random
                                     per process; tokens are then valid only on the replica that issued them)
          --log-format json|text     log format (default json)
          --log-level LEVEL          trace, debug, info, warn or error (default info)
          --watch-idle-timeout D     replace a watch of the API server that brought no event and no
                                     BOOKMARK for this long (default 30s)
          --max-view-age D           when the view of pods, ServiceAccounts or nodes has not been confirmed
                                     up to date for this long: unready, and 503 instead of credentials
                                     (default 60s; 0: never)
          -h, --help                 show this help

        Durations are written like 1h, 15m, 30s, 500ms or 1h30m.
        """;

    public static ParseResult Parse(IReadOnlyList<string> args, Func<string, string?> environment, InClusterProbe? inCluster = null)
    {
        var options = new Iam4KubeOptions();
        var errors = new List<string>();
        string? region = null, stsEndpoint = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                return new ParseResult(null, [], ShowHelp: true);
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                errors.Add($"unexpected argument '{arg}'");
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            if (name == "--allow-offline-in-cluster")
            {
                // A switch: present means true; --allow-offline-in-cluster=true|false works too.
                var allow = true;
                if (equals >= 0 && !bool.TryParse(arg[(equals + 1)..], out allow))
                {
                    errors.Add($"{name} takes no value, or =true or =false");
                }

                options = options with { AllowOfflineInCluster = allow };
                continue;
            }

            string value;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                errors.Add($"{name} needs a value");
                break;
            }

            try
            {
                options = name switch
                {
                    "--listen" => options with { Listen = ParseEndpoint(value) },
                    "--admin-listen" => options with { AdminListen = ParseEndpoint(value) },
                    "--kubeconfig" => options with { Kubeconfig = ExistingFile(value) },
                    "--cluster-file" => options with { ClusterFile = ExistingFile(value) },
                    "--credentials" => options with { Credentials = ParseCredentialSource(value) },
                    "--sts-endpoint" => options with { StsEndpoint = stsEndpoint = value },
                    "--region" => options with { Region = region = value },
                    "--sts-rate" => options with { StsRate = ParseDouble(value) },
                    "--sts-burst" => options with { StsBurst = ParseInt(value) },
                    "--session-duration" => options with { SessionDuration = Durations.Parse(value) },
                    "--wait-timeout" => options with { WaitTimeout = Durations.Parse(value) },
                    "--max-parked" => options with { MaxParkedRequests = ParseInt(value) },
                    "--shutdown-delay" => options with { ShutdownDelay = Durations.Parse(value) },
                    "--drain-timeout" => options with { DrainTimeout = Durations.Parse(value) },
                    "--token-key-file" => options with { TokenKeyFile = ExistingFile(value) },
                    "--log-format" => options with { LogFormat = ParseLogFormat(value) },
                    "--log-level" => options with { LogLevel = ParseLogLevel(value) },
                    "--watch-idle-timeout" => options with { WatchIdleTimeout = Durations.Parse(value) },
                    "--max-view-age" => options with { MaxViewAge = Durations.Parse(value) },
                    _ => throw new FormatException("unknown flag"),
                };
            }
            catch (FormatException e)
            {
                errors.Add($"{name} {Quote(value)}: {e.Message}");
            }
        }

        options = options with
        {
            Region = region ?? NonEmpty(environment("AWS_REGION")) ?? NonEmpty(environment("AWS_DEFAULT_REGION")),
            StsEndpoint = stsEndpoint ?? NonEmpty(environment("AWS_ENDPOINT_URL_STS")),
        };

        if (errors.Count == 0)
        {
            errors.AddRange(Iam4KubeOptionsValidator.Problems(options));
        }

        if (errors.Count == 0 && options is { Credentials: CredentialSource.Offline, AllowOfflineInCluster: false }
            && (inCluster ?? InClusterProbe.ForThisProcess(environment)).Evidence() is { } evidence)
        {
            errors.Add($"--credentials offline is refused inside a Kubernetes cluster ({evidence}): its pods would get fake "
                + "credentials that AWS rejects. Use --credentials sts, or add --allow-offline-in-cluster if that really is the intent (tests, demos)");
        }

        return errors.Count == 0 ? new ParseResult(options, [], false) : new ParseResult(null, errors, false);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string Quote(string value) => value.Length > 80 ? $"'{value[..80]}…'" : $"'{value}'";

    /// <summary>ADDR:PORT, [V6ADDR]:PORT, or :PORT for every interface.</summary>
    public static IPEndPoint ParseEndpoint(string value)
    {
        if (value.StartsWith(':') && int.TryParse(value[1..], NumberStyles.None, CultureInfo.InvariantCulture, out var bare) && bare <= IPEndPoint.MaxPort)
        {
            return new IPEndPoint(IPAddress.Any, bare);
        }

        if (IPEndPoint.TryParse(value, out var endpoint) && value.Contains(':', StringComparison.Ordinal) && (value.StartsWith('[') || endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork))
        {
            return endpoint;
        }

        throw new FormatException("expected ADDRESS:PORT, such as 0.0.0.0:8080 or [::]:8080");
    }

    private static string ExistingFile(string value) =>
        File.Exists(value) ? value : throw new FormatException("no such file");

    private static double ParseDouble(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
            ? number
            : throw new FormatException("expected a number");

    private static int ParseInt(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new FormatException("expected a whole number");

    private static CredentialSource ParseCredentialSource(string value) => value switch
    {
        "sts" => CredentialSource.Sts,
        "offline" => CredentialSource.Offline,
        _ => throw new FormatException("expected sts or offline"),
    };

    private static LogFormat ParseLogFormat(string value) => value switch
    {
        "json" => LogFormat.Json,
        "text" => LogFormat.Text,
        _ => throw new FormatException("expected json or text"),
    };

    private static LogLevel ParseLogLevel(string value) => value.ToLowerInvariant() switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" or "information" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => throw new FormatException("expected trace, debug, info, warn or error"),
    };
}

/// <summary>The outcome of parsing the command line.</summary>
internal sealed record ParseResult(Iam4KubeOptions? Options, IReadOnlyList<string> Errors, bool ShowHelp);
