using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Iam4Kube.Hosting;

/// <summary>Everything iam4kube's command line sets. Validated once, at start-up.</summary>
internal sealed record Iam4KubeOptions
{
    public IPEndPoint Listen { get; init; } = new(IPAddress.Any, 8080);

    public IPEndPoint AdminListen { get; init; } = new(IPAddress.Any, 9090);

    public string? Kubeconfig { get; init; }

    public string? ClusterFile { get; init; }

    public string? StsEndpoint { get; init; }

    public string? Region { get; init; }

    [Range(0.01, 1_000_000)]
    public double StsRate { get; init; } = 10;

    [Range(1, 1_000_000)]
    public int StsBurst { get; init; } = 20;

    /// <summary>STS allows 15 minutes to 12 hours (a role's own maximum may be lower).</summary>
    [DurationRange("00:15:00", "12:00:00")]
    public TimeSpan SessionDuration { get; init; } = TimeSpan.FromHours(1);

    [DurationRange("00:00:00", "00:05:00")]
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Each parked request holds a connection (~16 KiB): 1,000 fit the shipped memory limit with 100,000 pods (docs/operations.md).</summary>
    [Range(1, 1_000_000)]
    public int MaxParkedRequests { get; init; } = 1_000;

    /// <summary>
    /// Connections open at once on the pod-facing doors; more are closed at once (docs/operations.md, "Memory and
    /// connections"). Lowered at start to what the open-file limit allows.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; init; } = 2_000;

    /// <summary>Connections open at once from one source IP on one door, so that one pod cannot take every slot.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnectionsPerSource { get; init; } = 100;

    /// <summary>How long to keep serving after SIGTERM while unready, so endpoints converge before the drain.</summary>
    [DurationRange("00:00:00", "00:10:00")]
    public TimeSpan ShutdownDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long in-flight and parked requests get to finish after the delay.</summary>
    [DurationRange("00:00:00", "00:10:00")]
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public string? TokenKeyFile { get; init; }

    /// <summary>Where role credentials come from: STS AssumeRole, or minted locally (local mode, no AWS account).</summary>
    public CredentialSource Credentials { get; init; } = CredentialSource.Sts;

    /// <summary>Allows offline credentials even when iam4kube runs inside a cluster (tests and demos only).</summary>
    public bool AllowOfflineInCluster { get; init; }

    /// <summary>One line per credentials answer (deduplicated per pod and access key within a minute); on by default.</summary>
    public bool AuditLog { get; init; } = true;

    public LogFormat LogFormat { get; init; } = LogFormat.Json;

    public Serilog.Events.LogEventLevel LogLevel { get; init; } = Serilog.Events.LogEventLevel.Information;

    /// <summary>Tag every session as EKS Pod Identity does, so that ABAC policies written for EKS work unchanged.</summary>
    public bool SessionTags { get; init; }

    /// <summary>The value of the eks-cluster-name session tag (with <see cref="SessionTags"/>).</summary>
    public string? ClusterName { get; init; }

    /// <summary>Role chaining: assume this controller role first, then every application role with its session.</summary>
    public string? AssumeRoleArn { get; init; }

    /// <summary>Use STS's FIPS endpoint for the region (--sts-fips or AWS_USE_FIPS_ENDPOINT=true).</summary>
    public bool StsFips { get; init; }

    /// <summary>A watch with no event and no BOOKMARK for this long is replaced (docs/operations.md, "Staleness").</summary>
    [DurationRange("00:00:01", "00:10:00")]
    public TimeSpan WatchIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Past this age of the view of the cluster: unready, and 503 rather than an identity (0: never).</summary>
    [DurationRange("00:00:00", "01:00:00")]
    public TimeSpan MaxViewAge { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>IMDSv2 only, for every pod (EC2's HttpTokens=required): tokenless requests get 401.</summary>
    public bool RequireImdsTokens { get; init; }

    /// <summary>How long readiness waits for the roles in use; after it, ready without those still failing.</summary>
    [DurationRange("00:00:00", "01:00:00")]
    public TimeSpan ReadyWaitForRoles { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Watch Namespaces: a namespace permits only the roles its annotations allow (none without them).</summary>
    public bool NamespaceRestrictions { get; init; }

    /// <summary>Globs over role ARNs (or bare path/name patterns); when any is set, every other role is forbidden.</summary>
    public IReadOnlyList<string> AllowedRoles { get; init; } = [];

    /// <summary>Compatibility mode: pods' own iam.amazonaws.com/role and iam.amazonaws.com/external-id (kube2iam, kiam).</summary>
    public bool PodAnnotations { get; init; }

    /// <summary>What a role name in a pod annotation is appended to: arn:PARTITION:iam::ACCOUNT:role/[PATH/].</summary>
    public string? BaseRoleArn { get; init; }

    /// <summary>The role of a pod with neither its own nor its ServiceAccount's role annotation (a name or an ARN).</summary>
    public string? DefaultRole { get; init; }
    /// <summary>The token door's listener (EKS Pod Identity's protocol); null: no token door.</summary>
    public IPEndPoint? TokenListen { get; init; }

    /// <summary>
    /// The audience of the ServiceAccount tokens the token door accepts: iam4kube's own, so that a token meant for
    /// another service (the API server, STS, EKS's agent) is worthless here, and one for iam4kube worthless there.
    /// </summary>
    public string TokenAudience { get; init; } = DefaultTokenAudience;

    public const string DefaultTokenAudience = "iam4kube.io/pod-identity";

    /// <summary>The Host values the token door answers.</summary>
    public IReadOnlyList<string> TokenDoorHosts { get; init; } = PodIdentity.TokenDoorHosts.Default;

    /// <summary>TokenReview calls per second for tokens not seen before (more get 429).</summary>
    [Range(0.1, 100_000)]
    public double TokenReviewRate { get; init; } = 50;

    /// <summary>TokenReview calls allowed at once before the rate applies.</summary>
    [Range(1, 100_000)]
    public int TokenReviewBurst { get; init; } = 100;

    /// <summary>Most token verdicts kept (SHA-256 keys; about 200 bytes each).</summary>
    [Range(1, 10_000_000)]
    public int TokenCacheSize { get; init; } = 20_000;

    /// <summary>The admission webhooks' HTTPS listener; null: no webhooks.</summary>
    public IPEndPoint? WebhookListen { get; init; }

    /// <summary>iam4kube's namespace: where the webhook's TLS Secret lives (POD_NAMESPACE, from the downward API).</summary>
    public string WebhookNamespace { get; init; } = "iam4kube";

    /// <summary>The Service kube-apiserver calls the webhooks through (the serving certificate's name).</summary>
    public string WebhookService { get; init; } = "iam4kube";

    /// <summary>The MutatingWebhookConfiguration whose caBundle iam4kube keeps in step.</summary>
    public string WebhookConfiguration { get; init; } = "iam4kube";

    /// <summary>The ValidatingWebhookConfiguration whose caBundle iam4kube keeps in step; empty: none.</summary>
    public string ValidatingWebhookConfiguration { get; init; } = "iam4kube-validating";
}

internal enum LogFormat
{
    Json,
    Text,
}

internal enum CredentialSource
{
    Sts,
    Offline,
}
