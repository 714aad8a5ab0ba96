using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Ip2Service.Hosting;

/// <summary>Serilog, configured here only: compact JSON (or text) on stderr, so stdout stays clean for `render`.</summary>
internal static class LoggingSetup
{
    public static Logger Create(LogOptions options)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(options.Level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .Enrich.FromLogContext();
        return options.Json
            ? configuration.WriteTo.Console(new LiteralMessageJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger()
            : configuration.WriteTo.Console(
                    outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}",
                    standardErrorFromLevel: LogEventLevel.Verbose,
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture)
                .CreateLogger();
    }
}
