using System.Net;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;
using Ip2Service.Admin;
using Ip2Service.Hosting;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Ip2Service.Tests.Hosting;

/// <summary>
/// ip2service's admin answers on --admin-listen, byte for byte (status, content type, body), as they were when ASP.NET
/// Core served them (the same words and types as iam4kube's src/Iam4Kube/Hosting/AdminEndpoints.cs, each binary's
/// words its own), now from its own server (src/Ip2Service/Admin).
/// </summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private readonly Ip2ServiceMetrics _metrics = new(Metrics.NewCustomRegistry());
    private Readiness _readiness = null!;
    private AdminServer _server = null!;
    private HttpClient _admin = null!;

    public Task InitializeAsync()
    {
        _readiness = new Readiness(_metrics);
        _server = AdminServer.Start(new IPEndPoint(IPAddress.Loopback, 0), new AdminApi(_metrics.Registry, _readiness).AnswerAsync, new AdminServerLimits(), NullLogger.Instance);
        _admin = new HttpClient { BaseAddress = new Uri($"http://{_server.LocalEndPoint}") };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task HealthzAnswersOkWithANewline() =>
        await AdminAnswers.AssertTextAsync(await _admin.GetAsync("/healthz"), HttpStatusCode.OK, "ok\n");

    [Fact]
    public async Task ReadyzAnswers503UntilTheFirstSyncThen200()
    {
        await AdminAnswers.AssertTextAsync(await _admin.GetAsync("/readyz"), HttpStatusCode.ServiceUnavailable,
            "not ready: the rules do not reflect a complete list of the Service's EndpointSlices yet\n");

        _readiness.MarkReady();

        await AdminAnswers.AssertTextAsync(await _admin.GetAsync("/readyz"), HttpStatusCode.OK, "ready\n");
    }

    [Fact]
    public async Task MetricsAnswersInThePrometheusTextFormat()
    {
        _readiness.MarkReady();

        await AdminAnswers.AssertMetricsAsync(await _admin.GetAsync("/metrics"), "\nip2service_ready 1\n");
    }

    [Fact]
    public async Task PromtoolAcceptsTheMetricsAnswer()
    {
        // Every kind of series ip2service exports: labelled counters, a labelled histogram, gauges.
        _readiness.MarkReady();
        _metrics.InvalidEndpoints.WithLabels("no_addresses").Inc();
        _metrics.RuleRepairs.WithLabels("missing_jump", "ipv4").Inc();
        _metrics.RuleCheckDuration.WithLabels("ipv4").Observe(0.003);
        var metrics = await _admin.GetStringAsync("/metrics");

        // Prometheus's own linter (Debian package prometheus, installed by ./test.sh).
        var result = await ProcessRunner.RunAsync("promtool", ["check", "metrics"], standardInput: metrics);

        Assert.True(result.Succeeded, $"promtool check metrics: {result.StandardOutput}{result.StandardError}");
        Assert.Contains("ip2service_rule_check_duration_seconds_bucket{family=\"ipv4\",le=\"0.005\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricsAnswersInOpenMetricsWhenAskedForItFirst()
    {
        _readiness.MarkReady();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        // What Prometheus sends by default.
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");

        var response = await _admin.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\nip2service_ready 1.0\n", body, StringComparison.Ordinal);
        Assert.EndsWith("# EOF\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricsKeepsTheTextFormatWhenItIsPreferred()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics?accept=text/plain");
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text");

        var response = await _admin.SendAsync(request);

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
    }

    [Theory]
    [InlineData("/HEALTHZ")]
    [InlineData("/healthz/")]
    [InlineData("/healthz?verbose")]
    public async Task PathsMatchIgnoringCaseTrailingSlashAndQueryAsRoutingDid(string path) =>
        await AdminAnswers.AssertTextAsync(await _admin.GetAsync(path), HttpStatusCode.OK, "ok\n");

    [Fact]
    public async Task HeadAnswersTheGetHeadersWithoutABody()
    {
        using var response = await _admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/healthz"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AnswersUnknownPaths404AndOtherMethods405()
    {
        var unknown = await _admin.GetAsync("/debug");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Empty(await unknown.Content.ReadAsByteArrayAsync());

        var post = await _admin.PostAsync("/metrics", null);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow);
    }
}
