using System.Reflection;
using Serilog.Events;

namespace Iam4Kube.Shared;

/// <summary>
/// What iam4kube and ip2service agree on at the command line (docs/operations.md): the log level and format names,
/// the wording of an unknown flag, <c>--version</c>, and exit code 2 for anything the user can fix by changing
/// the command line or the environment.
/// </summary>
internal static class CommandLineConvention
{
    /// <summary>Invalid command line, or a start-up check (preflight) failed: fix the flags or the environment.</summary>
    public const int UsageExitCode = 2;

    public const string LogLevelNames = "trace, debug, info, warn or error";

    public const string LogFormatNames = "json or text";

    public static string UnknownFlag(string name) => $"unknown flag {name}";

    /// <summary>trace, debug, info, warn, error; the long forms (information, warning) and any case are accepted too.</summary>
    public static LogEventLevel? ParseLogLevel(string value) => value.ToLowerInvariant() switch
    {
        "trace" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "info" or "information" => LogEventLevel.Information,
        "warn" or "warning" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        _ => null,
    };

    /// <summary>json (compact JSON, one event a line) is true, text is false.</summary>
    public static bool? ParseLogFormatIsJson(string value) => value switch
    {
        "json" => true,
        "text" => false,
        _ => null,
    };

    /// <summary>"iam4kube 0.1.0 (commit 0123abc…)": the informational version the build stamps (Directory.Build.props).</summary>
    public static string VersionLine(string program)
    {
        var informational = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0
            ? $"{program} {informational} (commit unknown)"
            : $"{program} {informational[..plus]} (commit {informational[(plus + 1)..]})";
    }
}
