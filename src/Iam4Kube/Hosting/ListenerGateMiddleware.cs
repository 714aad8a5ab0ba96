namespace Iam4Kube.Hosting;

/// <summary>
/// After routing: an endpoint answers only on its own door's listener, and on a listener nothing else answers. A
/// pod can therefore never reach /metrics through 169.254.169.254, nor the metadata API through the admin port.
/// </summary>
internal sealed class ListenerGateMiddleware(RequestDelegate next, Listeners listeners)
{
    public Task InvokeAsync(HttpContext context)
    {
        var door = context.GetEndpoint()?.Metadata.GetMetadata<ServedOn>()?.Door ?? Doors.Metadata;
        if (!string.Equals(door, listeners.DoorOf(context), StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("Not Found");
        }

        return next(context);
    }
}
