using System.Threading.Channels;
using Ip2Service.Endpoints;
using Ip2Service.Iptables;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using k8s;
using Prometheus;

namespace Ip2Service.Hosting;

/// <summary>The composition of `ip2service run`.</summary>
internal static class Ip2ServiceServiceCollectionExtensions
{
    public static IServiceCollection AddIp2Service(this IServiceCollection services, RunOptions options, IIptables iptables, IKubernetes kubernetes)
    {
        var channel = Channel.CreateBounded<DesiredState>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = true,
        });
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new Ip2ServiceMetrics(Metrics.NewCustomRegistry()));
        services.AddSingleton<Readiness>();
        services.AddSingleton(kubernetes);
        services.AddSingleton(sp => new RuleApplier(iptables, options.Intercept, sp.GetRequiredService<ILogger<RuleApplier>>()));
        services.AddHostedService(sp => new RuleSyncer(
            sp.GetRequiredService<RuleApplier>(),
            new DesiredState(EndpointSet.Create([], options.ExtraExclusions), Synced: false),
            channel.Reader,
            sp.GetRequiredService<Readiness>(),
            sp.GetRequiredService<Ip2ServiceMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RuleSyncer>>()));
        services.AddHostedService(sp => new EndpointSliceWatcher(
            sp.GetRequiredService<IKubernetes>(),
            options.Service,
            options.ExtraExclusions,
            channel.Writer,
            sp.GetRequiredService<Ip2ServiceMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<EndpointSliceWatcher>>()));
        return services;
    }
}
