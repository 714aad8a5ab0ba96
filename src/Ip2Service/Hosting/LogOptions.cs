using Serilog.Events;

namespace Ip2Service.Hosting;

/// <summary>`--log-format json|text` (compact JSON by default, for a cluster's log pipeline) and `--log-level`.</summary>
internal sealed record LogOptions(bool Json, LogEventLevel Level)
{
    public static LogOptions Default { get; } = new(Json: true, LogEventLevel.Information);
}
