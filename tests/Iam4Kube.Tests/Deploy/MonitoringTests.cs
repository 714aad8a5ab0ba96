using Iam4Kube.Testing.Monitoring;
using YamlDotNet.RepresentationModel;

namespace Iam4Kube.Tests.Deploy;

/// <summary>deploy/monitoring: the PrometheusRule checked and unit-tested by promtool, the dashboard's queries
/// parsed by promtool. Tests/*/…ShippedMonitoringMetricsTests check the metric names against live scrapes.</summary>
public sealed class MonitoringTests
{
    private static readonly string UnitTests = Iam4Kube.Testing.Checkout.Combine("deploy", "monitoring", "iam4kube-prometheusrule.test.yaml");

    [Fact]
    public void PrometheusRuleIsForThePrometheusOperatorInTheIam4KubeNamespace()
    {
        var rule = MonitoringFiles.LoadPrometheusRule();
        var metadata = (YamlMappingNode)rule["metadata"];

        Assert.Equal("monitoring.coreos.com/v1", rule["apiVersion"].ToString());
        Assert.Equal("PrometheusRule", rule["kind"].ToString());
        Assert.Equal(ManifestSet.Namespace, metadata["namespace"].ToString());
    }

    [Fact]
    public void ShippedRulesPassPromtoolCheckRules()
    {
        using var promtool = new Promtool();
        var rules = promtool.WriteShippedRules();

        var result = Promtool.Run("check", "rules", rules);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains($"SUCCESS: {MonitoringFiles.AlertExpressions().Count} rules found", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void AlertUnitTestsPassPromtoolTestRules()
    {
        using var promtool = new Promtool();
        promtool.WriteShippedRules();
        var tests = promtool.Copy(UnitTests);

        var result = Promtool.Run("test", "rules", tests);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("SUCCESS", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void AlertUnitTestsFailWhenAnAlertChanges()
    {
        // The unit tests are not vacuous: the same tests against a rule file whose threshold moved fail.
        using var promtool = new Promtool();
        var rules = promtool.WriteShippedRules();
        File.WriteAllText(rules, File.ReadAllText(rules).Replace("iam4kube_parked_requests) > 100", "iam4kube_parked_requests) > 200", StringComparison.Ordinal));
        var tests = promtool.Copy(UnitTests);

        var result = Promtool.Run("test", "rules", tests);

        Assert.False(result.Succeeded, "the unit tests passed against a changed alert");
        Assert.Contains("Iam4KubeManyParkedRequests", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryAlertHasUnitTestsThatSeeItFireAndStayQuiet()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(UnitTests)));
        var cases = ((YamlSequenceNode)((YamlMappingNode)stream.Documents[0].RootNode)["tests"]).Children.Cast<YamlMappingNode>()
            .SelectMany(test => ((YamlSequenceNode)test["alert_rule_test"]).Children.Cast<YamlMappingNode>())
            .Select(c => (Alert: c["alertname"].ToString(), Fires: ((YamlSequenceNode)c["exp_alerts"]).Children.Count > 0))
            .ToList();

        foreach (var alert in MonitoringFiles.AlertExpressions().Select(e => e.Where["alert ".Length..]))
        {
            Assert.True(cases.Contains((alert, true)), $"no unit test sees {alert} fire");
            Assert.True(cases.Contains((alert, false)), $"no unit test sees {alert} stay quiet");
        }
    }

    [Fact]
    public void AlertsCoverWhatOperatorsMustHear()
    {
        var alerts = MonitoringFiles.AlertExpressions().Select(e => e.Where["alert ".Length..]).ToList();

        Assert.Contains("Iam4KubeNoReadyReplica", alerts);
        Assert.Contains("Iam4KubeStsErrors", alerts);
        Assert.Contains("Iam4KubeStsAccessDenied", alerts);
        Assert.Contains("Iam4KubeServingCredentialsCloseToExpiry", alerts);
        Assert.Contains("Iam4KubeManyParkedRequests", alerts);
        Assert.Contains("Iam4KubeServiceUnavailableAnswers", alerts);
        Assert.Contains("Ip2ServiceFailingClosed", alerts);
        Assert.Contains("Ip2ServiceNotReady", alerts);
        Assert.Contains("Ip2ServiceRulesRewrittenRepeatedly", alerts);
    }

    [Fact]
    public void EveryDashboardQueryParses()
    {
        var expressions = MonitoringFiles.DashboardExpressions();
        using var promtool = new Promtool();
        // Grafana fills $__rate_interval in before Prometheus sees the query.
        var rules = promtool.WriteRecordingRules(expressions.Select(e => e.Expression.Replace("$__rate_interval", "5m", StringComparison.Ordinal)));

        var result = Promtool.Run("check", "rules", rules);

        Assert.True(expressions.Count >= 20, $"only {expressions.Count} queries found in the dashboard");
        Assert.DoesNotContain(expressions, e => string.IsNullOrWhiteSpace(e.Expression));
        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains($"SUCCESS: {expressions.Count} rules found", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingPromtoolFailsWithAHintToRunTestShRatherThanSkipping()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-promtool-{Guid.NewGuid():N}");

        var error = Assert.Throws<Xunit.Sdk.XunitException>(() => Promtool.Find([missing]));

        Assert.Contains("promtool is not installed", error.Message, StringComparison.Ordinal);
        Assert.Contains("./test.sh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AQueryThatDoesNotParseIsCaught()
    {
        using var promtool = new Promtool();
        var rules = promtool.WriteRecordingRules(["sum(rate(iam4kube_requests_total[5m])", "iam4kube_ready"]);

        var result = Promtool.Run("check", "rules", rules);

        Assert.False(result.Succeeded, result.ToString());
    }

    [Fact]
    public void DashboardAndAlertsReadOnlyTheTwoBinariesMetrics()
    {
        var foreign = MonitoringFiles.DashboardExpressions().Concat(MonitoringFiles.AlertExpressions())
            .SelectMany(e => MonitoringFiles.MetricNames(e.Expression).Select(name => $"{name} ({e.Where})"))
            .Where(name => !name.StartsWith("iam4kube_", StringComparison.Ordinal) && !name.StartsWith("ip2service_", StringComparison.Ordinal))
            .ToList();

        Assert.True(foreign.Count == 0, $"metrics no Iam4Kube binary exports: {string.Join(", ", foreign)}");
    }

    [Theory]
    [InlineData("sum by (code) (rate(iam4kube_requests_total{code=\"503\", route!~\"x|y\"}[5m])) > 0.1", "iam4kube_requests_total")]
    [InlineData("histogram_quantile(0.99, sum by (le) (rate(iam4kube_request_duration_seconds_bucket[$__rate_interval])))", "iam4kube_request_duration_seconds_bucket")]
    [InlineData("(sum(iam4kube_ready) or vector(0)) < 1", "iam4kube_ready")]
    [InlineData("ip2service_endpoints_programmed == 0 and on (instance) ip2service_ready == 1", "ip2service_endpoints_programmed ip2service_ready")]
    [InlineData("time() - ip2service_last_sync_timestamp_seconds offset 5m", "ip2service_last_sync_timestamp_seconds")]
    [InlineData("count(up{job=\"x\"} == 0) or vector(0)", "up")]
    public void MetricNamesAreTheSeriesAnExpressionReads(string expression, string names)
    {
        Assert.Equal(names.Split(' ').Order(StringComparer.Ordinal), MonitoringFiles.MetricNames(expression).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ExportedNamesIncludeDeclaredFamiliesAndHistogramSeries()
    {
        const string Exposition = """
            # HELP a_total A.
            # TYPE a_total counter
            # HELP b_seconds B.
            # TYPE b_seconds histogram
            b_seconds_bucket{le="1"} 0
            # TYPE c gauge
            c{x="y"} 1
            """;

        Assert.Equal(
            ["a_total", "b_seconds", "b_seconds_bucket", "b_seconds_count", "b_seconds_sum", "c"],
            MonitoringFiles.ExportedNames(Exposition).Order(StringComparer.Ordinal));
    }
}
