namespace Iam4Kube.Metadata;

/// <summary>
/// Collapses repeated slashes (<c>//latest/api/token</c>) before routing, as EC2's metadata service does: SDKs
/// configured with an endpoint that ends in a slash (AWSSDK for .NET among them) send such paths. The allow-list
/// still decides what is served.
/// </summary>
internal sealed class CollapseSlashesMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        if (path is not null && path.Contains("//", StringComparison.Ordinal))
        {
            var collapsed = new System.Text.StringBuilder(path.Length);
            foreach (var c in path)
            {
                if (c != '/' || collapsed.Length == 0 || collapsed[^1] != '/')
                {
                    collapsed.Append(c);
                }
            }

            context.Request.Path = collapsed.ToString();
        }

        return next(context);
    }
}
