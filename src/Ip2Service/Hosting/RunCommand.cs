using System.Net.Sockets;
using Iam4Kube.Shared;
using Iam4Kube.Watching;
using Ip2Service.Admin;
using Ip2Service.Iptables;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Serilog;
using Serilog.Extensions.Logging;
using ILogger = Microsoft.Extensions.Logging.ILogger;

namespace Ip2Service.Hosting;

/// <summary>`ip2service run`: the node daemon.</summary>
internal static partial class RunCommand
{
    public static async Task<int> RunAsync(RunOptions options)
    {
        // Preflight: the cluster configuration is resolved before anything starts; a problem is one line, exit 2.
        var (configuration, problem) = KubernetesPreflight.Load(options.Kubeconfig, Environment.GetEnvironmentVariable, "");
        if (configuration is null)
        {
            await Console.Error.WriteLineAsync($"ip2service: {problem}");
            return CommandLineConvention.UsageExitCode;
        }

        using var serilog = LoggingSetup.Create(options.Log);
        using var loggerFactory = new SerilogLoggerFactory(serilog);
        var logger = loggerFactory.CreateLogger(typeof(RunCommand).FullName!);

        BackendSelection backend;
        KubernetesApi kubernetes;
        try
        {
            backend = await BackendSelector.SelectAsync(options.Backend, ExternalCommand.Direct, CancellationToken.None);
            // Not a k8s.Kubernetes: its constructor alone compiles KubernetesClient's JSON of every model in (KubernetesApi).
            kubernetes = KubernetesApi.Create(configuration);
        }
        catch (Exception e) when (e is IptablesCommandException or k8s.Exceptions.KubeConfigException or IOException)
        {
            Log.StartFailed(logger, e.Message, e);
            return 1;
        }
        Log.Starting(logger, options.Service.ToString(), string.Join(", ", options.Routes.Select(r => $"{r.Target} -> port \"{r.PortName}\"")), backend.Backend.ToString().ToUpperInvariant(), backend.Reason);

        // The generic host without ASP.NET Core: the admin endpoints are served by Admin/AdminServer (issue 15: Kestrel
        // and ASP.NET Core were most of the NativeAOT image).
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Services.AddSerilog(serilog);
        builder.Services.AddIp2Service(options, Families(options, backend.Backend, ExternalCommand.Direct), kubernetes);

        using var host = builder.Build();
        var admin = new AdminApi(host.Services.GetRequiredService<Ip2ServiceMetrics>().Registry, host.Services.GetRequiredService<Readiness>());
        AdminServer server;
        try
        {
            server = AdminServer.Start(options.AdminListen, admin.AnswerAsync, new AdminServerLimits(), loggerFactory.CreateLogger<AdminServer>());
        }
        catch (SocketException e)
        {
            Log.StartFailed(logger, $"cannot listen on {options.AdminListen}: {e.Message}", e);
            return 1;
        }
        await using (server)
        {
            await host.StartAsync();
            var url = $"http://{server.LocalEndPoint}";
            // Kestrel's own line, kept for whoever reads the logs for it.
            Log.NowListening(loggerFactory.CreateLogger("Microsoft.Hosting.Lifetime"), url);
            Log.Listening(logger, url);
            await host.WaitForShutdownAsync();
        }
        return 0;
    }

    /// <summary>One <see cref="IIptables"/> per address family the routes use, IPv4 first; both in the backend
    /// chosen for the node (iptables and ip6tables of one backend go together).</summary>
    public static IReadOnlyList<IIptables> Families(RunOptions options, IptablesBackend backend, ExternalCommand command) =>
        [.. options.Routes.Select(r => r.Target.Family).Append(IpFamily.V4).Distinct().Order().Select(f => new IptablesCli(backend, command, f))];

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "ip2service starting: following {Service}, intercepting {Target}, iptables backend {Backend} ({Reason})")]
        public static partial void Starting(ILogger logger, string service, string target, string backend, string reason);

        [LoggerMessage(2, LogLevel.Information, "Admin HTTP (/healthz, /readyz, /metrics) listening on {Urls}")]
        public static partial void Listening(ILogger logger, string urls);

        [LoggerMessage(3, LogLevel.Critical, "ip2service cannot start: {Error}")]
        public static partial void StartFailed(ILogger logger, string error, Exception exception);

        [LoggerMessage(14, LogLevel.Information, "Now listening on: {address}", EventName = "ListeningOnAddress")]
        public static partial void NowListening(ILogger logger, string address);
    }
}
