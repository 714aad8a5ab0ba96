using Ip2Service.Endpoints;
using Prometheus;

namespace Ip2Service.Telemetry;

/// <summary>ip2service's Prometheus metrics, all named ip2service_*, in a registry of their own (so that tests can
/// read exact values).</summary>
internal sealed class Ip2ServiceMetrics
{
    public Ip2ServiceMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var factory = Metrics.WithCustomRegistry(registry);
        EndpointsProgrammed = factory.CreateGauge(
            "ip2service_endpoints_programmed", "Ready endpoints that the live iptables rules send intercepted connections to.");
        ExcludedSourcesProgrammed = factory.CreateGauge(
            "ip2service_excluded_sources_programmed", "Source IPs (the iam4kube pods, --exclude-ip) that the live rules leave alone.");
        Syncs = factory.CreateCounter(
            "ip2service_syncs_total", "Successful writes of the rules (iptables-restore runs).");
        SyncErrors = factory.CreateCounter(
            "ip2service_sync_errors_total", "Failed attempts to write the rules.");
        LastSync = factory.CreateGauge(
            "ip2service_last_sync_timestamp_seconds", "Unix time of the last successful write of the rules.");
        Ready = factory.CreateGauge(
            "ip2service_ready", "1 once the rules reflect a complete list of the Service's EndpointSlices.");
        InvalidEndpoints = factory.CreateCounter(
            "ip2service_invalid_endpoints_total", "EndpointSlice entries skipped as unusable, by reason.", "reason");
        WatchRestarts = factory.CreateCounter(
            "ip2service_watch_restarts_total",
            "EndpointSlice list/watch restarts, by reason: closed, idle (no event and no BOOKMARK for the idle timeout), no_progress (relist after watches that brought nothing), expired (410), resource_version_too_large (504), resource_version_rejected (400/422), unanswered, unavailable (502/503), error.",
            "reason");
        ViewAge = factory.CreateGauge(
            "ip2service_endpoints_view_age_seconds", "Seconds since the EndpointSlices were last known up to date (a watch event, a BOOKMARK or a list).");
        RuleRepairs = factory.CreateCounter(
            "ip2service_rule_repairs_total",
            "Rewrites of rules that someone else changed, found by the periodic check, by reason (missing_chain, missing_jump, duplicate_jump, flushed_chain, foreign_rule, missing_rule, reordered, rule_count) and family (ipv4, ipv6).",
            "reason", "family");
        RuleCheckDuration = factory.CreateHistogram(
            "ip2service_rule_check_duration_seconds",
            "Time to read the live rules of one family (iptables-save of filter and nat) and compare them with the last write.",
            new HistogramConfiguration
            {
                LabelNames = ["family"],
                Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
            });
        StartupTaintLifted = factory.CreateGauge(
            "ip2service_startup_taint_lifted", "1 once the startup taint (--startup-taint) is off this node (lifted after the rules were live, or never there); 0 while it stays.");
        StartupTaintErrors = factory.CreateCounter(
            "ip2service_startup_taint_errors_total", "Failed attempts to read this Node or remove the startup taint from it (conflicts excluded: they are retried at once).");
    }

    public CollectorRegistry Registry { get; }

    public Gauge StartupTaintLifted { get; }

    public Counter StartupTaintErrors { get; }

    public Counter RuleRepairs { get; }

    public Histogram RuleCheckDuration { get; }

    public Gauge EndpointsProgrammed { get; }

    public Gauge ExcludedSourcesProgrammed { get; }

    public Counter Syncs { get; }

    public Counter SyncErrors { get; }

    public Gauge LastSync { get; }

    public Gauge Ready { get; }

    public Counter InvalidEndpoints { get; }

    public Counter WatchRestarts { get; }

    public Gauge ViewAge { get; }

    public static string Label(SliceProblemReason reason) => reason switch
    {
        SliceProblemReason.WrongFamily => "wrong_family",
        SliceProblemReason.MalformedAddress => "malformed_address",
        SliceProblemReason.MissingPort => "missing_port",
        SliceProblemReason.InvalidPort => "invalid_port",
        SliceProblemReason.UnsupportedAddressType => "unsupported_address_type",
        _ => "other",
    };
}
