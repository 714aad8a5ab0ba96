using System.Threading.Channels;
using Iam4Kube.Watching;
using Ip2Service.Endpoints;
using Ip2Service.Iptables;
using Ip2Service.Nodes;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Prometheus;

namespace Ip2Service.Hosting;

/// <summary>The composition of `ip2service run`.</summary>
internal static class Ip2ServiceServiceCollectionExtensions
{
    /// <summary>`iptables`: one per address family to program, IPv4 first.</summary>
    public static IServiceCollection AddIp2Service(this IServiceCollection services, RunOptions options, IReadOnlyList<IIptables> iptables, KubernetesApi kubernetes)
    {
        var routes = options.Routes.IsEmpty ? [new InterceptRoute(options.Intercept, options.Service.PortName)] : options.Routes;
        var failClosed = new DesiredState(
            [.. routes.Select(r => new TargetRules(r.Target, EndpointSet.Create([], options.ExtraExclusions.Where(a => IpFamilies.Of(a) == r.Target.Family))))],
            Synced: false);
        var channel = Channel.CreateBounded<DesiredState>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = true,
        });
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new Ip2ServiceMetrics(Metrics.NewCustomRegistry()));
        services.AddSingleton<Readiness>();
        // Through a factory, so the container disposes the connection with the host (an instance it was handed, it
        // would leave open).
        services.AddSingleton(_ => kubernetes);
        services.AddHostedService(sp => new RuleSyncer(
            [.. iptables.Select(i => new RuleApplier(i, sp.GetRequiredService<ILogger<RuleApplier>>()))],
            failClosed,
            channel.Reader,
            sp.GetRequiredService<Readiness>(),
            sp.GetRequiredService<Ip2ServiceMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            options.ResyncInterval,
            sp.GetRequiredService<ILogger<RuleSyncer>>()));
        services.AddHostedService(sp => new EndpointSliceWatcher(
            sp.GetRequiredService<KubernetesApi>(),
            options.Service,
            routes,
            options.ExtraExclusions,
            channel.Writer,
            sp.GetRequiredService<Ip2ServiceMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<EndpointSliceWatcher>>()));
        if (options.StartupTaint.Length > 0)
        {
            services.AddHostedService(sp => new StartupTaintLifter(
                sp.GetRequiredService<KubernetesApi>(),
                options.NodeName,
                options.StartupTaint,
                sp.GetRequiredService<Readiness>(),
                sp.GetRequiredService<Ip2ServiceMetrics>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<StartupTaintLifter>>()));
        }
        return services;
    }
}
