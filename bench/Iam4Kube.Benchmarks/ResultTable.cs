using System.Globalization;
using System.Text;

namespace Iam4Kube.Benchmarks;

/// <summary>The figures of one run: printed as a Markdown table, so that it pastes into docs/benchmarks.md.</summary>
internal sealed class ResultTable
{
    private readonly List<(string Scenario, string Metric, string Value, string Target, string Verdict)> _rows = [];

    public void Add(string scenario, string metric, string value, string target = "", bool? met = null)
    {
        _rows.Add((scenario, metric, value, target, met switch { true => "met", false => "MISSED", null => "" }));
        Console.WriteLine($"  {scenario} | {metric}: {value}{(target.Length > 0 ? $" (target {target}: {(met == true ? "met" : met == false ? "MISSED" : "-")})" : "")}");
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| scenario | metric | value | target | |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var (scenario, metric, value, target, verdict) in _rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {scenario} | {metric} | {value} | {target} | {verdict} |");
        }

        return text.ToString();
    }
}
