using Iam4Kube.Admission;
using Iam4Kube.Explain;
using Iam4Kube.Metadata;
using Iam4Kube.Observability;
using Iam4Kube.PodIdentity;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Serilog;

namespace Iam4Kube.Hosting;

/// <summary>Builds the iam4kube web application: a Kestrel listener per door, the metadata API and the admin API.</summary>
internal static class Iam4KubeApplication
{
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(10);

    public static WebApplication Build(Iam4KubeOptions options, Serilog.ILogger? logger = null, Action<IServiceCollection>? configureServices = null)
    {
        // The empty builder, not the slim one: iam4kube takes its settings from its command line only, so the slim
        // builder's configuration sources (appsettings.json watched for changes, environment variables) were work
        // at every start (a file watcher among it) that nothing read (docs/benchmarks.md, "Issue 15: the first
        // sync's garbage returned (session 9)"). Kestrel, its TLS support (the webhook door) and routing are added
        // by name instead.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration();
        builder.Services.AddRoutingCore();
        builder.Services.AddSerilog(logger ?? Log.Logger, dispose: false);
        builder.Services.AddIam4Kube(options);
        configureServices?.Invoke(builder.Services);

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var listeners = kestrel.ApplicationServices.GetRequiredService<Listeners>();
            kestrel.AddServerHeader = false;
            // Metadata requests are tiny: small limits keep hostile clients cheap.
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 64;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            kestrel.Limits.MaxRequestBodySize = 16 * 1024;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            // An idle connection costs memory and a descriptor, and SDKs open a new one when theirs was closed: 10 s
            // (docs/security.md) rather than Kestrel's 130 s, and the connection limits bound the rest.
            kestrel.Limits.KeepAliveTimeout = KeepAliveTimeout;
            kestrel.Listen(options.Listen, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listeners.Add(Doors.Metadata, listen);
            });
            kestrel.Listen(options.AdminListen, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listeners.Add(Doors.Admin, listen);
            });
            if (options.WebhookListen is { } webhookListen)
            {
                var certificates = kestrel.ApplicationServices.GetRequiredService<WebhookCertificates>();
                kestrel.Listen(webhookListen, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    // The certificate is read per handshake: a renewal is served without a restart.
                    listen.UseHttps(https => https.ServerCertificateSelector = (_, _) => certificates.Current);
                    listeners.Add(Doors.Webhook, listen);
                });
            }

            if (options.TokenListen is { } tokenListen)
            {
                kestrel.Listen(tokenListen, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listeners.Add(Doors.Token, listen);
                });
            }
        });

        var app = builder.Build();
        app.UseMiddleware<ExactMethodMiddleware>();
        app.UseMiddleware<CollapseSlashesMiddleware>();
        app.UseMiddleware<DotRoleNameMiddleware>();
        app.UseRouting();
        app.UseMiddleware<ListenerGateMiddleware>();
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.MapAdminApi(app.Services.GetRequiredService<Iam4KubeMetrics>());
        app.MapExplainApi();
        app.MapPodIdentityApi();
        app.MapAdmissionApi(app.Services.GetServices<IAdmissionReviewer>());
        app.MapMetadataApi();
        return app;
    }
}
