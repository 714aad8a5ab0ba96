using System.Net;
using Iam4Kube.Watching;
using k8s;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Iam4Kube.Benchmarks;

/// <summary>
/// Scenario 4's baseline: the least a server can do to wake requests parked on pod IPs. Bare Kestrel (no routing, no
/// middleware) parks each request from an IP without a pod on one task per IP and answers a constant 200 body of
/// iam4kube's answer size the moment its own KubernetesClient watch (same fake API, same stream as iam4kube's)
/// decodes that IP's ADDED pod. No policy, no credentials, no metrics: what is left of the wake-up time here is
/// what the machine, the fake API server and the bench's clients cost. <c>GET /parked</c> says how many wait.
/// </summary>
internal static class WakeBaselineServer
{
    public static async Task RunAsync(int port, int bodyBytes, string kubeconfig)
    {
        var body = new byte[bodyBytes];
        Array.Fill(body, (byte)'x');
        var gate = new Lock();
        var known = new HashSet<IPAddress>();
        var waiting = new Dictionary<IPAddress, TaskCompletionSource>();
        var parked = 0;
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        var listed = await client.CoreV1.ListPodForAllNamespacesAsync();
        foreach (var pod in listed.Items)
        {
            if (pod.Status?.PodIP is { } ip)
            {
                known.Add(IPAddress.Parse(ip));
            }
        }

        _ = Task.Run(async () =>
        {
            await foreach (var (type, pod) in client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: listed.Metadata.ResourceVersion))
            {
                if (type == WatchEventType.Added && pod.Status?.PodIP is { } text)
                {
                    var ip = IPAddress.Parse(text);
                    TaskCompletionSource? woken;
                    lock (gate)
                    {
                        known.Add(ip);
                        waiting.Remove(ip, out woken);
                    }

                    woken?.TrySetResult();
                }
            }
        });

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.Run(async context =>
        {
            if (context.Request.Path == "/parked")
            {
                await context.Response.WriteAsync(Volatile.Read(ref parked).ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            }

            var ip = context.Connection.RemoteIpAddress!;
            Task? wait = null;
            lock (gate)
            {
                if (!known.Contains(ip))
                {
                    if (!waiting.TryGetValue(ip, out var signal))
                    {
                        signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        waiting.Add(ip, signal);
                    }

                    wait = signal.Task;
                }
            }

            if (wait is not null)
            {
                Interlocked.Increment(ref parked);
                try
                {
                    await wait.WaitAsync(context.RequestAborted);
                }
                finally
                {
                    Interlocked.Decrement(ref parked);
                }
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        });
        await app.RunAsync();
    }
}
