using Prometheus;

namespace Iam4Kube.Observability;

/// <summary>
/// Every Prometheus metric iam4kube exports, on its own registry (served on the admin port) so that several hosts
/// in one test process do not share counters. docs/metrics.md lists them.
/// </summary>
internal sealed class Iam4KubeMetrics
{
    private static readonly double[] LatencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public Iam4KubeMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);

        Requests = factory.CreateCounter("iam4kube_requests_total", "Metadata API requests by route and status code.", "route", "code");
        RequestDuration = factory.CreateHistogram("iam4kube_request_duration_seconds", "Metadata API request latency, including time parked.",
            new HistogramConfiguration { LabelNames = ["route"], Buckets = LatencyBuckets });
        Outcomes = factory.CreateCounter("iam4kube_request_outcomes_total",
            "How requests that need a pod's identity ended: credentials, no_role, invalid_role, sts_denied, pod_unknown, pod_ambiguous, serviceaccount_unknown, credentials_unavailable, token_rejected, parked_limit, view_too_old, token_required, role_forbidden, namespace_unknown, and the token door's token_missing, token_malformed, token_invalid, token_expired, token_wrong_audience, token_pod_gone, host_not_allowed, token_review_unavailable, token_review_overloaded.",
            "outcome");
        Parked = factory.CreateGauge("iam4kube_parked_requests", "Requests currently waiting for a pod, ServiceAccount or credentials.");
        OpenConnections = factory.CreateGauge("iam4kube_open_connections", "Connections open now, by door.", "door");
        ConnectionsRefused = factory.CreateCounter("iam4kube_connections_refused_total",
            "Connections closed at once because a limit was reached, by door and reason (max_connections, max_connections_per_source).", "door", "reason");
        ConnectionLimit = factory.CreateGauge("iam4kube_connection_limit",
            "The connection limits in force: pod-facing (--max-connections, lowered to what the open-file limit allows), admin, per-source.", "limit");
        ParkedDuration = factory.CreateHistogram("iam4kube_parked_duration_seconds", "How long parked requests waited before they were answered.",
            new HistogramConfiguration { Buckets = LatencyBuckets });

        StsCalls = factory.CreateCounter("iam4kube_sts_calls_total", "STS AssumeRole calls by outcome (success or the STS error code).", "outcome");
        StsDuration = factory.CreateHistogram("iam4kube_sts_call_duration_seconds", "STS AssumeRole latency.",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        RateLimiterWait = factory.CreateHistogram("iam4kube_sts_rate_limiter_wait_seconds", "Time AssumeRole calls waited for the STS rate limiter.",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        CacheEntries = factory.CreateGauge("iam4kube_credentials_cache_entries", "Roles whose credentials are kept fresh, by state (fresh, stale, failing, pending).", "state");

        WatchRestarts = factory.CreateCounter("iam4kube_watch_starts_total", "Watches started against the API server, by resource.", "resource");
        WatchErrors = factory.CreateCounter("iam4kube_watch_errors_total", "Failed lists and watches, by resource.", "resource");
        WatchEvents = factory.CreateCounter("iam4kube_watch_events_total", "Watch events applied, by resource.", "resource");
        Relists = factory.CreateCounter("iam4kube_relists_total",
            "Full lists by resource and reason: initial, expired (410), resource_version_too_large (504), resource_version_rejected (400/422), no_progress (watches that brought nothing), requested (the pod index saw a missed event: two live pods claiming one IP).",
            "resource", "reason");
        IdleWatches = factory.CreateCounter("iam4kube_watch_idle_restarts_total",
            "Watches ended because no event and no BOOKMARK came for --watch-idle-timeout (a half-open connection or a stalled server), by resource.", "resource");
        ViewAge = factory.CreateGauge("iam4kube_cluster_view_age_seconds",
            "Seconds since the view of a resource was last known up to date (a watch event, a BOOKMARK or a complete list).", "resource");
        Objects = factory.CreateGauge("iam4kube_cluster_objects", "Objects in the local view of the cluster, by resource.", "resource");
        ClusterFileLoads = factory.CreateCounter("iam4kube_cluster_file_loads_total",
            "Local mode: loads of the --cluster-file by outcome (applied; invalid or unreadable, which keep the last good state).", "outcome");
        Ready = factory.CreateGauge("iam4kube_ready", "1 when /readyz answers ready.");
        EventsWritten = factory.CreateCounter("iam4kube_pod_events_written_total", "Kubernetes Events created or updated on pods, by reason.", "reason");
        EventsDropped = factory.CreateCounter("iam4kube_pod_events_dropped_total", "Pod Events not written (queue full or API error).");
        SessionDurationFallbacks = factory.CreateCounter("iam4kube_session_duration_fallbacks_total",
            "Sessions asked for again with a shorter duration after STS refused the one asked for (above the role's MaxSessionDuration or the role-chaining hour).");
        StsClockSkew = factory.CreateGauge("iam4kube_sts_clock_skew_seconds",
            "This node's clock minus STS's, from the Date header of the last AssumeRole answer (beyond 60 s, expiry is computed on STS's clock).");
        ShortLivedCredentials = factory.CreateCounter("iam4kube_sts_short_credentials_total",
            "Credentials STS issued with less life than twice the serving floor (normally 30 minutes): served down to 60 s before expiry, refreshed with spacing.");
        RolesSkippedForReadiness = factory.CreateCounter("iam4kube_readiness_roles_skipped_total",
            "Roles in use still without credentials when --ready-wait-for-roles ran out: the replica turned ready without them.");
        TokenVerifications = factory.CreateCounter("iam4kube_token_verifications_total",
            "Token door: ServiceAccount tokens looked up, by result: verified (a TokenReview said yes), cached (a kept verdict answered), or the refusal's outcome (token_invalid, token_wrong_audience, token_review_unavailable, token_review_overloaded).",
            "result");
        TokenCacheEntries = factory.CreateGauge("iam4kube_token_cache_entries", "Token door: token verdicts kept (bounded by the cache's capacity).");
        ControllerRoleRefreshes = factory.CreateCounter("iam4kube_controller_role_refreshes_total",
            "AssumeRole calls for the controller role (--assume-role-arn) by outcome (success or the error code).", "outcome");
        AdmissionReviews = factory.CreateCounter("iam4kube_admission_reviews_total",
            "Admission webhook reviews by webhook path and verdict (allowed, patched, denied, malformed).", "webhook", "verdict");
        NamespaceRulesInvalid = factory.CreateGauge("iam4kube_namespace_rules_invalid",
            "--namespace-restrictions: namespaces whose iam.amazonaws.com/allowed-roles or iam.amazonaws.com/permitted annotation is malformed (they permit no role).");
        RoleAnnotationsDisagree = factory.CreateCounter("iam4kube_role_annotations_disagree_total",
            "--pod-annotations: pods whose iam.amazonaws.com/role names another role (or external id) than their ServiceAccount's iam.amazonaws.com/roleArn, which wins; once per pod.");
    }

    public CollectorRegistry Registry { get; }

    public Counter TokenVerifications { get; }

    public Gauge TokenCacheEntries { get; }

    public Counter Requests { get; }

    public Histogram RequestDuration { get; }

    public Counter Outcomes { get; }

    public Gauge Parked { get; }

    public Histogram ParkedDuration { get; }

    public Gauge OpenConnections { get; }

    public Counter ConnectionsRefused { get; }

    public Gauge ConnectionLimit { get; }

    public Counter StsCalls { get; }

    public Histogram StsDuration { get; }

    public Histogram RateLimiterWait { get; }

    public Gauge CacheEntries { get; }

    public Counter WatchRestarts { get; }

    public Counter WatchErrors { get; }

    public Counter WatchEvents { get; }

    public Counter Relists { get; }

    public Gauge Objects { get; }

    public Counter IdleWatches { get; }

    public Gauge ViewAge { get; }

    public Counter ClusterFileLoads { get; }

    public Gauge Ready { get; }

    public Counter EventsWritten { get; }

    public Counter EventsDropped { get; }

    public Counter SessionDurationFallbacks { get; }

    public Counter ControllerRoleRefreshes { get; }

    public Counter RolesSkippedForReadiness { get; }

    public Gauge StsClockSkew { get; }

    public Counter ShortLivedCredentials { get; }
    public Gauge NamespaceRulesInvalid { get; }

    public Counter AdmissionReviews { get; }
    /// <summary>Pods whose own role annotation disagrees with their ServiceAccount's (which wins).</summary>
    public Counter RoleAnnotationsDisagree { get; }
}
