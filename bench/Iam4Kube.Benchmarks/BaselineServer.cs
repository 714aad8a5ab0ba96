using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Iam4Kube.Benchmarks;

/// <summary>
/// The baseline: bare Kestrel (no routing, no middleware) answering every request with a constant 200 text/plain
/// body of the size iam4kube's credentials answer has. What iam4kube costs is the distance to this.
/// </summary>
internal static class BaselineServer
{
    public static async Task RunAsync(int port, int bodyBytes)
    {
        var body = new byte[bodyBytes];
        Array.Fill(body, (byte)'x');
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = body.Length;
            return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
        });
        await app.RunAsync();
    }
}
