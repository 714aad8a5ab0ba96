using System.Net;
using Iam4Kube.Testing.Programs;
using Ip2Service.Hosting;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Ip2Service.Tests.Hosting;

/// <summary>
/// ip2service's admin answers on --admin-listen, byte for byte (status, content type, body): the mapping is shared
/// with iam4kube (src/Iam4Kube.Shared/AdminEndpoints.cs), each binary's words are its own.
/// </summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private readonly Ip2ServiceMetrics _metrics = new(Metrics.NewCustomRegistry());
    private WebApplication _app = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton(_metrics);
        builder.Services.AddSingleton<Readiness>();
        _app = builder.Build();
        _app.MapAdminApi(_metrics.Registry);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        _admin = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task HealthzAnswersOkWithANewline() =>
        await AdminAnswers.AssertTextAsync(await _admin.GetAsync("/healthz"), HttpStatusCode.OK, "ok\n");

    [Fact]
    public async Task ReadyzAnswers503UntilTheFirstSyncThen200()
    {
        await AdminAnswers.AssertTextAsync(await _admin.GetAsync("/readyz"), HttpStatusCode.ServiceUnavailable,
            "not ready: the rules do not reflect a complete list of the Service's EndpointSlices yet\n");

        _app.Services.GetRequiredService<Readiness>().MarkReady();

        await AdminAnswers.AssertTextAsync(await _admin.GetAsync("/readyz"), HttpStatusCode.OK, "ready\n");
    }

    [Fact]
    public async Task MetricsAnswersInThePrometheusTextFormat()
    {
        _app.Services.GetRequiredService<Readiness>().MarkReady();

        await AdminAnswers.AssertMetricsAsync(await _admin.GetAsync("/metrics"), "\nip2service_ready 1\n");
    }
}
