using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Iam4Kube.Testing.Monitoring;

/// <summary>One PromQL expression shipped in deploy/monitoring, and where it is (for assertion messages).</summary>
public sealed record ShippedExpression(string Where, string Expression);

/// <summary>
/// The PromQL expressions in deploy/monitoring (the dashboard's panel queries and the PrometheusRule's alerts),
/// and the metric names they read. Both test projects check those names against a live scrape of their binary.
/// </summary>
public static partial class MonitoringFiles
{
    public static string Dashboard => Checkout.Combine("deploy", "monitoring", "iam4kube-dashboard.json");

    public static string PrometheusRule => Checkout.Combine("deploy", "monitoring", "iam4kube-prometheusrule.yaml");

    /// <summary>Every target of every panel (rows included), in order.</summary>
    public static IReadOnlyList<ShippedExpression> DashboardExpressions()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Dashboard))!;
        return Panels(dashboard["panels"]!.AsArray())
            .SelectMany(panel => (panel["targets"]?.AsArray() ?? []).Select(target => new ShippedExpression(
                $"panel \"{panel["title"]}\" target {target!["refId"]}",
                target["expr"]?.GetValue<string>() ?? "")))
            .ToList();
    }

    /// <summary>Every alert's expression in the PrometheusRule.</summary>
    public static IReadOnlyList<ShippedExpression> AlertExpressions()
    {
        var spec = (YamlMappingNode)LoadPrometheusRule()["spec"];
        return ((YamlSequenceNode)spec["groups"]).Children.Cast<YamlMappingNode>()
            .SelectMany(group => ((YamlSequenceNode)group["rules"]).Children.Cast<YamlMappingNode>())
            .Select(rule => new ShippedExpression($"alert {rule["alert"]}", ((YamlScalarNode)rule["expr"]).Value!))
            .ToList();
    }

    /// <summary>The PrometheusRule's document.</summary>
    public static YamlMappingNode LoadPrometheusRule()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(PrometheusRule)));
        return stream.Documents.Count == 1
            ? (YamlMappingNode)stream.Documents[0].RootNode
            : throw new InvalidDataException($"{PrometheusRule}: expected one document, found {stream.Documents.Count}");
    }

    /// <summary>
    /// The metric names an expression reads: identifiers that are not functions, aggregations, keywords, label
    /// names (in matchers, by/without/on/ignoring lists), strings, durations or Grafana variables.
    /// </summary>
    public static IReadOnlySet<string> MetricNames(string expression)
    {
        var stripped = StringLiteral().Replace(expression, " ");
        stripped = LabelMatchers().Replace(stripped, " ");
        stripped = RangeOrSubquery().Replace(stripped, " ");
        stripped = LabelList().Replace(stripped, " ");
        return Identifier().Matches(stripped)
            .Where(m => !m.Groups["call"].Success && !Keywords.Contains(m.Groups["name"].Value))
            .Select(m => m.Groups["name"].Value)
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// The metric names a Prometheus text exposition (a /metrics answer) exports: every sample's name, and every
    /// declared family (a labelled family may have no sample yet), with a histogram's _bucket, _sum and _count.
    /// </summary>
    public static IReadOnlySet<string> ExportedNames(string exposition)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in exposition.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (TypeLine().Match(line) is { Success: true } type)
            {
                var family = type.Groups["name"].Value;
                names.Add(family);
                if (type.Groups["type"].Value is "histogram" or "summary")
                {
                    names.UnionWith([$"{family}_sum", $"{family}_count"]);
                    if (type.Groups["type"].Value == "histogram")
                    {
                        names.Add($"{family}_bucket");
                    }
                }
            }
            else if (!line.StartsWith('#') && SampleName().Match(line) is { Success: true } sample)
            {
                names.Add(sample.Value);
            }
        }

        return names;
    }

    /// <summary>Metric names read by the shipped dashboard and alerts that start with <paramref name="prefix"/>
    /// but <paramref name="exported"/> lacks, each with where it is read.</summary>
    public static IReadOnlyList<string> UnexportedNames(string prefix, IReadOnlySet<string> exported) =>
        DashboardExpressions().Concat(AlertExpressions())
            .SelectMany(e => MetricNames(e.Expression).Select(name => (e.Where, name)))
            .Where(x => x.name.StartsWith(prefix, StringComparison.Ordinal) && !exported.Contains(x.name))
            .Select(x => $"{x.name} ({x.Where})")
            .Distinct()
            .ToList();

    private static IEnumerable<JsonNode> Panels(JsonArray panels) =>
        panels.OfType<JsonNode>().SelectMany(p => new[] { p }.Concat(Panels(p["panels"]?.AsArray() ?? [])));

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
        "inf", "nan", "Inf", "NaN",
    };

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex RangeOrSubquery();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex LabelList();

    [GeneratedRegex(@"(?<![\w:.$])(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^# TYPE (?<name>[A-Za-z_:][A-Za-z0-9_:]*) (?<type>\w+)")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^[A-Za-z_:][A-Za-z0-9_:]*")]
    private static partial Regex SampleName();
}
