using Iam4Kube.Hosting;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Iam4Kube;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var parsed = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
        if (parsed.ShowHelp)
        {
            await Console.Out.WriteLineAsync(CommandLine.Usage);
            return 0;
        }

        if (parsed.Options is not { } options)
        {
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"iam4kube: {error}");
            }

            await Console.Error.WriteLineAsync("Run 'iam4kube --help' for usage.");
            return 2;
        }

        Log.Logger = CreateLogger(options);
        try
        {
            var app = Iam4KubeApplication.Build(options, Log.Logger);
            await app.RunAsync();
            return 0;
        }
        catch (Exception e)
        {
            Log.Fatal(e, "iam4kube failed: {Reason}", e.Message);
            return 1;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }

    private static Serilog.Core.Logger CreateLogger(Iam4KubeOptions options)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(ToSerilog(options.LogLevel))
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        return (options.LogFormat == LogFormat.Json
                ? configuration.WriteTo.Console(new RenderedCompactJsonFormatter())
                : configuration.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}"))
            .CreateLogger();
    }

    private static LogEventLevel ToSerilog(LogLevel level) => level switch
    {
        LogLevel.Trace => LogEventLevel.Verbose,
        LogLevel.Debug => LogEventLevel.Debug,
        LogLevel.Information => LogEventLevel.Information,
        LogLevel.Warning => LogEventLevel.Warning,
        _ => LogEventLevel.Error,
    };
}
