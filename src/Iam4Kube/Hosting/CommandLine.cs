using System.Globalization;
using System.Net;
using Iam4Kube.Shared;

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
               iam4kube explain --admin URL (--ip IP | --pod NAMESPACE/NAME)

        Serves each pod the AWS credentials of its ServiceAccount's IAM role through an emulated EC2 metadata API.
        'iam4kube explain' asks a running iam4kube's admin port why a pod gets (or does not get) its role.

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
          --sts-endpoint URL         STS endpoint (default: AWS_ENDPOINT_URL_STS, else the regional endpoint
                                     of --region in its partition: aws, aws-cn, aws-us-gov…)
          --region REGION            AWS region (default: AWS_REGION, AWS_DEFAULT_REGION)
          --sts-rate N               AssumeRole calls per second (default 10)
          --sts-burst N              AssumeRole calls allowed at once before the rate applies (default 20)
          --session-duration D       role session duration, 15m to 12h (default 1h)
          --wait-timeout D           how long a request waits for an unknown pod, ServiceAccount or
                                     credentials (default 15s)
          --max-parked N             requests allowed to wait at once; more get 503 (default 1000)
          --max-connections N        connections open at once on the metadata door; more are closed at once
                                     (default 2000; lowered to what the open-file limit allows)
          --max-connections-per-source N
                                     connections open at once from one source IP (default 100)
          --shutdown-delay D         after SIGTERM, keep serving while unready this long (default 5s; 0 with
                                     --cluster-file). A second SIGTERM or Ctrl-C cuts it short
          --drain-timeout D          then give in-flight requests this long to finish (default 20s)
          --token-key-file PATH      secret shared by all replicas to sign IMDSv2 tokens (default: random
                                     per process; tokens are then valid only on the replica that issued them)
          --session-tags             tag each session as EKS Pod Identity does: kubernetes-namespace,
                                     kubernetes-service-account (and eks-cluster-name), all transitive; each
                                     role's trust policy must then allow sts:TagSession (docs/iam.md)
          --cluster-name NAME        the eks-cluster-name session tag (with --session-tags)
          --sts-fips                 use the region's FIPS STS endpoint (default: AWS_USE_FIPS_ENDPOINT=true)
          --assume-role-arn ARN      role chaining: assume this controller role with iam4kube's own credentials,
                                     then every application role with its session, so application roles trust
                                     one stable principal. Sessions are then at most 1h (--session-duration
                                     above it is refused); not ready until the controller role is assumed
          --audit-log on|off         one info line per credentials answer served or refused (pod, ServiceAccount,
                                     role, session name, AccessKeyId), repeats counted per minute (default on)
          --log-format json|text     log format on stderr (default json: compact JSON, one event a line)
          --log-level LEVEL          trace, debug, info, warn or error (default info)
          --watch-idle-timeout D     replace a watch of the API server that brought no event and no
                                     BOOKMARK for this long (default 30s)
          --max-view-age D           when the view of pods, ServiceAccounts or nodes has not been confirmed
                                     up to date for this long: unready, and 503 instead of credentials
                                     (default 60s; 0: never)
          --ready-wait-for-roles D   how long /readyz waits for the credentials of the roles in use; after it,
                                     ready without those STS still fails (Warning Event, metric) (default 60s)
          --imds-tokens optional|required
                                     required: every metadata request needs an IMDSv2 token (401 without
                                     one, as EC2's HttpTokens=required); a ServiceAccount can require it for
                                     its pods with iam4kube.io/imds-tokens: required (default optional)
          --namespace-restrictions   watch Namespaces: a pod may have a role only if its namespace's
                                     iam.amazonaws.com/allowed-roles (JSON array of globs) or
                                     iam.amazonaws.com/permitted (regular expression) matches it, always
                                     anchored; a namespace with neither permits none (default off)
          --allowed-roles GLOBS      comma-separated globs (* and ?) over role ARNs that any pod may have,
                                     checked before namespace rules; repeatable (default: every role)
          --pod-annotations          compatibility with kube2iam and kiam: a pod whose ServiceAccount names no
                                     role gets its own iam.amazonaws.com/role (and iam.amazonaws.com/external-id);
                                     the ServiceAccount's annotation wins when both exist (default off)
          --base-role-arn ARN        what a role name in iam.amazonaws.com/role is resolved under, such as
                                     arn:aws:iam::123456789012:role/ or …:role/PATH/ (with --pod-annotations)
          --default-role ROLE        the role (a name under --base-role-arn, or an ARN) of pods with no role
                                     annotation, theirs or their ServiceAccount's; restrictions still apply
                                     (with --pod-annotations; default: none)
          --token-listen ADDR:PORT   the token door: EKS Pod Identity's GET /v1/credentials for pods that
                                     send a projected ServiceAccount token (default: off; manifests 0.0.0.0:8081)
          --token-audience AUD       the audience those tokens must have (default iam4kube.io/pod-identity)
          --token-door-hosts LIST    comma-separated Host values the token door answers (default
                                     169.254.170.23,[fd00:ec2::23]; any port)
          --token-review-rate N      TokenReviews per second for tokens not seen before; more get 429
                                     (default 50)
          --token-review-burst N     TokenReviews allowed at once before the rate applies (default 100)
          --token-cache-size N       token verdicts remembered (SHA-256 keys, ~200 bytes each); when full,
                                     expired ones are swept and new verdicts beyond it are not kept (default 20000)
          --webhook-listen ADDR:PORT the admission webhooks over HTTPS: /mutate/pods injects the token door's
                                     variables and token volume, /validate/serviceaccounts refuses malformed
                                     or forbidden role annotations (default: off; manifests 0.0.0.0:8443). Its
                                     CA and certificate live in the Secret iam4kube-webhook-tls of POD_NAMESPACE
          --webhook-service NAME     the Service kube-apiserver calls the webhooks through (default iam4kube)
          --webhook-configuration NAME  the MutatingWebhookConfiguration whose caBundle is kept in step
                                     (default iam4kube)
          --validating-webhook-configuration NAME  the ValidatingWebhookConfiguration whose caBundle is
                                     kept in step (default iam4kube-validating; empty: none)
          --version                  print the version and the commit it was built from
          -h, --help                 show this help

        Durations are written like 1h, 15m, 30s, 500ms or 1h30m.
        """;

    public static ParseResult Parse(IReadOnlyList<string> args, Func<string, string?> environment, InClusterProbe? inCluster = null)
    {
        var options = new Iam4KubeOptions();
        var errors = new List<string>();
        string? region = null, stsEndpoint = null;
        var shutdownDelayGiven = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                return new ParseResult(null, [], ShowHelp: true);
            }

            if (arg == "--version")
            {
                return new ParseResult(null, [], ShowHelp: false, ShowVersion: true);
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                errors.Add($"unexpected argument '{arg}'");
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            if (name is "--allow-offline-in-cluster" or "--session-tags" or "--sts-fips" or "--namespace-restrictions" or "--pod-annotations")
            {
                // A switch: present means true; --switch=true|false works too.
                var on = true;
                if (equals >= 0 && !bool.TryParse(arg[(equals + 1)..], out on))
                {
                    errors.Add($"{name} takes no value, or =true or =false");
                }

                options = name switch
                {
                    "--session-tags" => options with { SessionTags = on },
                    "--sts-fips" => options with { StsFips = on },
                    "--namespace-restrictions" => options with { NamespaceRestrictions = on },
                    "--pod-annotations" => options with { PodAnnotations = on },
                    _ => options with { AllowOfflineInCluster = on },
                };
                continue;
            }

            string value;
            var separate = false;
            var missing = false;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
                separate = true;
            }
            else
            {
                // Nothing follows: still ask the switch below, which tells an unknown flag from a known one.
                value = "";
                missing = true;
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
                    "--max-connections" => options with { MaxConnections = ParseInt(value) },
                    "--max-connections-per-source" => options with { MaxConnectionsPerSource = ParseInt(value) },
                    "--shutdown-delay" => options with { ShutdownDelay = Durations.Parse(value) },
                    "--drain-timeout" => options with { DrainTimeout = Durations.Parse(value) },
                    "--token-key-file" => options with { TokenKeyFile = ExistingFile(value) },
                    "--audit-log" => options with { AuditLog = ParseOnOff(value) },
                    "--log-format" => options with { LogFormat = ParseLogFormat(value) },
                    "--log-level" => options with { LogLevel = ParseLogLevel(value) },
                    "--cluster-name" => options with { ClusterName = value },
                    "--assume-role-arn" => options with { AssumeRoleArn = value },
                    "--watch-idle-timeout" => options with { WatchIdleTimeout = Durations.Parse(value) },
                    "--max-view-age" => options with { MaxViewAge = Durations.Parse(value) },
                    "--ready-wait-for-roles" => options with { ReadyWaitForRoles = Durations.Parse(value) },
                    "--imds-tokens" => options with { RequireImdsTokens = ParseImdsTokens(value) },
                    "--allowed-roles" => options with { AllowedRoles = [.. options.AllowedRoles, .. ParseList(value)] },
                    "--base-role-arn" => options with { BaseRoleArn = value },
                    "--default-role" => options with { DefaultRole = value },
                    "--token-listen" => options with { TokenListen = value.Length == 0 ? null : ParseEndpoint(value) },
                    "--token-audience" => options with { TokenAudience = value },
                    "--token-door-hosts" => options with { TokenDoorHosts = ParseList(value) },
                    "--token-review-rate" => options with { TokenReviewRate = ParseDouble(value) },
                    "--token-review-burst" => options with { TokenReviewBurst = ParseInt(value) },
                    "--token-cache-size" => options with { TokenCacheSize = ParseInt(value) },
                    "--webhook-listen" => options with { WebhookListen = value.Length == 0 ? null : ParseEndpoint(value) },
                    "--webhook-service" => options with { WebhookService = value },
                    "--webhook-configuration" => options with { WebhookConfiguration = value },
                    "--validating-webhook-configuration" => options with { ValidatingWebhookConfiguration = value },
                    _ => throw new UnknownFlagException(),
                };
                shutdownDelayGiven |= name == "--shutdown-delay";
            }
            catch (UnknownFlagException)
            {
                errors.Add(CommandLineConvention.UnknownFlag(name));
                // What followed an unknown flag is not known to be its value: read it as the next argument.
                i -= separate ? 1 : 0;
                continue;
            }
            catch (FormatException e) when (!missing)
            {
                errors.Add($"{name} {Quote(value)}: {e.Message}");
            }
            catch (FormatException)
            {
                // Reported below: the value is missing, not wrong.
            }

            if (missing)
            {
                errors.Add($"{name} needs a value");
                break;
            }
        }

        options = options with
        {
            // Local mode: no endpoints to take this process out of rotation, so Ctrl-C should not wait for them.
            ShutdownDelay = options.ClusterFile is not null && !shutdownDelayGiven ? TimeSpan.Zero : options.ShutdownDelay,
            Region = region ?? NonEmpty(environment("AWS_REGION")) ?? NonEmpty(environment("AWS_DEFAULT_REGION")),
            StsEndpoint = stsEndpoint ?? NonEmpty(environment("AWS_ENDPOINT_URL_STS")),
            WebhookNamespace = NonEmpty(environment("POD_NAMESPACE")) ?? options.WebhookNamespace,
            StsFips = options.StsFips || string.Equals(NonEmpty(environment("AWS_USE_FIPS_ENDPOINT")), "true", StringComparison.OrdinalIgnoreCase),
        };

        if (errors.Count == 0)
        {
            errors.AddRange(Iam4KubeOptionsValidator.Problems(options, region is not null ? "--region"
                : NonEmpty(environment("AWS_REGION")) is not null ? "AWS_REGION" : "AWS_DEFAULT_REGION"));
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

    private static string[] ParseList(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } items
            ? items
            : throw new FormatException("expected one or more comma-separated values");

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

    private static bool ParseImdsTokens(string value) => value switch
    {
        "required" => true,
        "optional" => false,
        _ => throw new FormatException("expected optional or required"),
    };

    private static bool ParseOnOff(string value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new FormatException("expected on or off"),
    };

    private static LogFormat ParseLogFormat(string value) => CommandLineConvention.ParseLogFormatIsJson(value) switch
    {
        true => LogFormat.Json,
        false => LogFormat.Text,
        null => throw new FormatException($"expected {CommandLineConvention.LogFormatNames}"),
    };

    private static Serilog.Events.LogEventLevel ParseLogLevel(string value) =>
        CommandLineConvention.ParseLogLevel(value) ?? throw new FormatException($"expected {CommandLineConvention.LogLevelNames}");

    private sealed class UnknownFlagException : Exception;
}

/// <summary>The outcome of parsing the command line.</summary>
internal sealed record ParseResult(Iam4KubeOptions? Options, IReadOnlyList<string> Errors, bool ShowHelp, bool ShowVersion = false);
