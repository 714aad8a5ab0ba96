namespace Iam4Kube.Hosting;

/// <summary>
/// After routing: admin endpoints answer only on the admin port; on the admin port nothing else answers. A pod
/// can therefore never reach /metrics through 169.254.169.254, nor the metadata API through the admin port.
/// </summary>
internal sealed class ListenerGateMiddleware(RequestDelegate next, Listeners listeners)
{
    public Task InvokeAsync(HttpContext context)
    {
        var adminEndpoint = context.GetEndpoint()?.Metadata.GetMetadata<AdminEndpoint>() is not null;
        if (adminEndpoint != listeners.IsAdmin(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("Not Found");
        }

        return next(context);
    }
}
