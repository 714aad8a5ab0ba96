using System.Text.Json;
using Iam4Kube.Shared;
using Serilog.Events;
using Serilog.Parsing;

namespace Ip2Service.Tests.Hosting;

public sealed class LiteralMessageJsonFormatterTests
{
    [Fact]
    public void WritesOneCompactJsonLineWithTheMessageRenderedLiterally()
    {
        var logEvent = new LogEvent(
            new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            LogEventLevel.Warning,
            new InvalidOperationException("boom"),
            new MessageTemplateParser().Parse("Rules for {Target} send to {Count} endpoint(s)"),
            [new LogEventProperty("Target", new ScalarValue("169.254.169.254:80")), new LogEventProperty("Count", new ScalarValue(2))]);
        using var output = new StringWriter();

        new LiteralMessageJsonFormatter().Format(logEvent, output);

        var text = output.ToString();
        Assert.EndsWith("}\n", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal("2026-01-02T03:04:05.0000000Z", root.GetProperty("@t").GetString());
        Assert.Equal("Rules for 169.254.169.254:80 send to 2 endpoint(s)", root.GetProperty("@m").GetString());
        Assert.Equal("Warning", root.GetProperty("@l").GetString());
        Assert.StartsWith("System.InvalidOperationException: boom", root.GetProperty("@x").GetString(), StringComparison.Ordinal);
        Assert.Equal("169.254.169.254:80", root.GetProperty("Target").GetString());
        Assert.Equal(2, root.GetProperty("Count").GetInt32());
        Assert.Matches("^[0-9a-f]{8}$", root.GetProperty("@i").GetString());
    }
}
