using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Iam4Kube.Shared;

/// <summary>
/// Serilog as both programs configure it: compact JSON (CLEF, <see cref="LiteralMessageJsonFormatter"/>) or text,
/// always on stderr, so that stdout carries only what a command prints (--help, --version, ip2service render).
/// </summary>
internal static class Logging
{
    public const string TextTemplate = "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static Logger Create(bool json, LogEventLevel level)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        return (json
                ? configuration.WriteTo.Console(new LiteralMessageJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose)
                : configuration.WriteTo.Console(
                    outputTemplate: TextTemplate,
                    standardErrorFromLevel: LogEventLevel.Verbose,
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture))
            .CreateLogger();
    }
}
