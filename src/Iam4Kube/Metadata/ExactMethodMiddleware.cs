namespace Iam4Kube.Metadata;

/// <summary>
/// HTTP methods are case-sensitive (RFC 9110), but routing matches them ignoring case: without this, <c>get</c> and
/// <c>put</c> would be served as GET and PUT. The metadata API answers exactly GET and PUT; any other spelling is
/// another method, and every other method is 404.
/// </summary>
internal sealed class ExactMethodMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (method is not ("GET" or "PUT" or "HEAD") && (HttpMethods.IsGet(method) || HttpMethods.IsPut(method) || HttpMethods.IsHead(method)))
        {
            return ImdsResults.WriteText(context, StatusCodes.Status404NotFound, "Not Found");
        }

        return next(context);
    }
}
