using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Iam4Kube.Watching;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using k8s.Autorest;

namespace Ip2Service.Nodes;

/// <summary>
/// Closes the node-boot window the way CNI agents do: the kubelet registers the node with a NoSchedule startup taint
/// (`--register-with-taints`), so no ordinary pod lands on it before ip2service's rules exist; this lifts the taint
/// from its own Node once the rules are live, and only then: <see cref="Readiness"/> completes after the fail-closed
/// and DNAT rules of every family were written and read back from a complete list of the Service's EndpointSlices.
/// While the rules cannot be written the taint stays (the syncer's log and ip2service_sync_errors_total say why).
/// Nothing is put back on exit: the rules stay in place when ip2service stops.
/// <para>
/// The removal is a JSON merge patch of <c>spec.taints</c> without that taint, carrying the resourceVersion it was read
/// at: kube-apiserver answers 409 Conflict when the Node changed meanwhile (another controller added a taint), and
/// the read-modify-write starts again, so no other taint is ever lost.
/// </para>
/// </summary>
internal sealed partial class StartupTaintLifter(
    KubernetesApi client,
    string nodeName,
    string taintKey,
    Readiness readiness,
    Ip2ServiceMetrics metrics,
    TimeProvider time,
    ILogger<StartupTaintLifter> logger,
    TimeSpan? attemptTimeout = null) : BackgroundService
{
    // Each read-modify-write is bounded as KubernetesClient's typed calls were (its HttpClient's 100 s timeout): an
    // API server that accepts the request and never answers costs one attempt, not the lift. Real time, not the
    // injected clock: it bounds a network wait, which no test's simulated schedule advances.
    private readonly TimeSpan _attemptTimeout = attemptTimeout ?? KubernetesHttp.CallTimeout;
    private readonly Backoff _backoff = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Waiting(logger, taintKey, nodeName);
        try
        {
            await readiness.WhenReady.WaitAsync(stoppingToken);
            while (!await TryLiftAsync(stoppingToken))
            {
                await Task.Delay(_backoff.Next(), time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping before the rules were live (or mid-retry): the taint stays, as it must.
        }
    }

    /// <summary>True when the taint is gone (lifted now, or found absent).</summary>
    private async Task<bool> TryLiftAsync(CancellationToken stoppingToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        attempt.CancelAfter(_attemptTimeout);
        var cancellationToken = attempt.Token;
        try
        {
            var url = KubernetesHttp.Url(client.BaseUri, $"api/v1/nodes/{Uri.EscapeDataString(nodeName)}", []);
            var node = await ReadAsync(client, url, cancellationToken);
            var taints = node["spec"]?["taints"] as JsonArray ?? [];
            // Other taints are kept as they were read, every field of them (value, effect, timeAdded, any newer one).
            var remaining = taints.Where(t => t?["key"]?.GetValueKind() != JsonValueKind.String || (string?)t["key"] != taintKey).ToList();
            if (remaining.Count == taints.Count)
            {
                metrics.StartupTaintLifted.Set(1);
                Log.Absent(logger, taintKey, nodeName);
                return true;
            }
            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = node["metadata"]?["resourceVersion"]?.DeepClone() },
                ["spec"] = new JsonObject { ["taints"] = new JsonArray([.. remaining.Select(t => t?.DeepClone())]) },
            };
            using var content = new StringContent(patch.ToJsonString(), Encoding.UTF8, "application/merge-patch+json");
            using var _ = await KubernetesHttp.SendAsync(client, HttpMethod.Patch, url, content, HttpCompletionOption.ResponseContentRead, cancellationToken);
            metrics.StartupTaintLifted.Set(1);
            Log.Lifted(logger, taintKey, nodeName);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // The Node changed between our read and our write: read it again at once.
            Log.Conflict(logger, nodeName);
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            metrics.StartupTaintErrors.Inc();
            Log.Failed(logger, taintKey, nodeName, WatchFailures.Describe(e), e);
            return false;
        }
    }

    // The Node as a JSON tree: ip2service needs its resourceVersion and taints only, and reading it through a model
    // would need KubernetesClient's JSON (a Node's status holds quantities, which only its converters read).
    private static async Task<JsonNode> ReadAsync(KubernetesApi kubernetes, Uri url, CancellationToken cancellationToken)
    {
        using var response = await KubernetesHttp.SendAsync(kubernetes, HttpMethod.Get, url, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await JsonNode.ParseAsync(body, cancellationToken: cancellationToken) as JsonObject
            ?? throw new InvalidDataException($"GET {url.AbsolutePath} did not answer a JSON object.");
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Keeping the startup taint {Taint} on node {Node} until the rules are live")]
        public static partial void Waiting(ILogger logger, string taint, string node);

        [LoggerMessage(2, LogLevel.Information, "Lifted the startup taint {Taint} from node {Node}: the fail-closed and DNAT rules are live")]
        public static partial void Lifted(ILogger logger, string taint, string node);

        [LoggerMessage(3, LogLevel.Information, "Node {Node} has no startup taint {Taint} (already lifted, or the kubelet does not set it)")]
        public static partial void Absent(ILogger logger, string taint, string node);

        [LoggerMessage(4, LogLevel.Debug, "Node {Node} changed while lifting its startup taint (409 Conflict); reading it again")]
        public static partial void Conflict(ILogger logger, string node);

        [LoggerMessage(5, LogLevel.Warning, "Lifting the startup taint {Taint} from node {Node} failed ({Error}); retrying")]
        public static partial void Failed(ILogger logger, string taint, string node, string error, Exception exception);
    }
}
