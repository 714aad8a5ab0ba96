namespace Iam4Kube.Observability;

/// <summary>Endpoint metadata: the low-cardinality route label under which a request is counted.</summary>
internal sealed record MetricsRoute(string Name);
