using Iam4Kube.Shared;
using Serilog.Core;

namespace Ip2Service.Hosting;

/// <summary>Serilog as both programs configure it (src/Shared/Logging.cs): on stderr, so stdout stays clean for `render`.</summary>
internal static class LoggingSetup
{
    public static Logger Create(LogOptions options) => Logging.Create(options.Json, options.Level);
}
