using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>Serves kube-apiserver's REST API, over HTTP/1.1 and JSON, from a <see cref="ClusterState"/>.</summary>
internal sealed class ApiRequestHandler(
    ClusterState cluster,
    ApiFaults faults,
    ConcurrentQueue<RecordedRequest> requests,
    ServiceAccountTokens tokens,
    TimeProvider time,
    CancellationToken shutdown)
{
    private const string Json = "application/json";
    private const int FlushThreshold = 64 * 1024;

    // kube-apiserver waits this long for a resourceVersion newer than it has before it answers 504.
    private static readonly TimeSpan TooLargeResourceVersionWait = TimeSpan.FromSeconds(3);

    public static bool IsTrue(string? value) => value is "true" or "1" or "t" or "T" or "TRUE" or "True";

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var query = request.QueryString.HasValue ? request.QueryString.Value![1..] : string.Empty;
        requests.Enqueue(new RecordedRequest(request.Method, path, query));

        try
        {
            if (faults.Unavailable)
            {
                throw ApiStatusException.ForStatusCode(HttpStatusCode.ServiceUnavailable);
            }

            if (faults.TakeFailure(query.Length == 0 ? path : $"{path}?{query}") is { } status)
            {
                throw ApiStatusException.ForStatusCode(status);
            }

            // Another writer's change landing just before this request (between a client's read and its write).
            faults.TakeInterjection(request.Method, path)?.Invoke();

            if (await ServeNonResourceAsync(context, path))
            {
                return;
            }

            if (path.TrimEnd('/') == TokenReviewsPath)
            {
                await ServeTokenReviewAsync(context);
                return;
            }

            var route = ApiRoute.Parse(path) ?? throw ApiStatusException.ResourceNotFound();
            await ServeResourceAsync(context, route);
        }
        catch (ApiStatusException e) when (!context.Response.HasStarted)
        {
            await WriteStatusAsync(context.Response, e);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static async Task<bool> ServeNonResourceAsync(HttpContext context, string path)
    {
        switch (path.TrimEnd('/'))
        {
            case "/healthz" or "/livez" or "/readyz":
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("ok", context.RequestAborted);
                return true;
            case "/version":
                context.Response.ContentType = Json;
                await context.Response.WriteAsync(
                    """{"major":"1","minor":"33","gitVersion":"v1.33.0-iam4kube-fake","platform":"linux/amd64"}""",
                    context.RequestAborted);
                return true;
            case "/api":
                context.Response.ContentType = Json;
                await context.Response.WriteAsync("""{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}""", context.RequestAborted);
                return true;
            default:
                return false;
        }
    }

    private const string TokenReviewsPath = "/apis/authentication.k8s.io/v1/tokenreviews";

    /// <summary>A virtual resource: create only, nothing stored, 201 with the status filled in.</summary>
    private async Task ServeTokenReviewAsync(HttpContext context)
    {
        if (context.Request.Method != "POST")
        {
            throw ApiStatusException.MethodNotAllowed(context.Request.Method);
        }

        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        V1TokenReview? review;
        try
        {
            review = KubernetesJson.Deserialize<V1TokenReview>(body);
        }
        catch (JsonException e)
        {
            throw ApiStatusException.BadRequest($"the body of the request is not a valid TokenReview: {e.Message}");
        }

        var answer = Encoding.UTF8.GetBytes(ServiceAccountTokens.ToJson(tokens.Review(review ?? throw ApiStatusException.BadRequest("empty body"))));
        context.Response.StatusCode = (int)HttpStatusCode.Created;
        context.Response.ContentType = Json;
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, context.RequestAborted);
    }

    private static async Task WriteStatusAsync(HttpResponse response, ApiStatusException error)
    {
        response.StatusCode = (int)error.Code;
        response.ContentType = Json;
        if (error.Code is HttpStatusCode.TooManyRequests or HttpStatusCode.GatewayTimeout || error.RetryAfterSeconds > 0)
        {
            response.Headers.RetryAfter = Math.Max(1, error.RetryAfterSeconds).ToString(CultureInfo.InvariantCulture);
        }

        await response.Body.WriteAsync(ApiJson.Status(error));
    }

    private static async Task WriteObjectAsync(HttpResponse response, StoredObject stored, HttpStatusCode status = HttpStatusCode.OK)
    {
        response.StatusCode = (int)status;
        response.ContentType = Json;
        response.ContentLength = stored.Json.Length;
        await response.Body.WriteAsync(stored.Json);
    }

    private static ObjectFilter FilterOf(ApiRoute route, IQueryCollection query) =>
        // A watch of one object (GET .../{name}?watch=true) selects that name only.
        new(route.Namespace, route.Name, LabelSelector.Parse(query["labelSelector"]));

    private static int ParseLimit(string? value) =>
        string.IsNullOrEmpty(value)
            ? 0
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
                ? limit
                : throw ApiStatusException.BadRequest($"invalid limit: \"{value}\"");

    private static async Task<IKubernetesObject<V1ObjectMeta>> ReadBodyAsync(HttpRequest request, ResourceKind kind)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        try
        {
            var value = kind.Deserialize(body);
            value.Metadata ??= new V1ObjectMeta();
            return value;
        }
        catch (JsonException e)
        {
            throw ApiStatusException.BadRequest($"the body of the request is not a valid {kind.Kind}: {e.Message}");
        }
    }

    private static void CheckNamespace(ApiRoute route, V1ObjectMeta meta)
    {
        if (!route.Kind.Namespaced)
        {
            return;
        }

        if (string.IsNullOrEmpty(meta.NamespaceProperty))
        {
            meta.NamespaceProperty = route.Namespace;
        }
        else if (meta.NamespaceProperty != route.Namespace)
        {
            throw ApiStatusException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }
    }

    private async Task ServeResourceAsync(HttpContext context, ApiRoute route)
    {
        var request = context.Request;
        var watch = IsTrue(request.Query["watch"]);
        switch (request.Method)
        {
            case "GET" when watch:
                await ServeWatchAsync(context, route);
                break;
            case "GET" when route.Name is null:
                await ServeListAsync(context, route);
                break;
            case "GET":
                await WriteObjectAsync(
                    context.Response,
                    cluster.Get(route.Kind, route.Namespace, route.Name) ?? throw ApiStatusException.NotFound(route.Kind, route.Name));
                break;
            case "POST" when route.Name is null && (route.Namespace is not null || !route.Kind.Namespaced):
                var created = await ReadBodyAsync(request, route.Kind);
                CheckNamespace(route, created.Metadata);
                await WriteObjectAsync(context.Response, cluster.Create(route.Kind, created), HttpStatusCode.Created);
                break;
            case "PATCH" when route.Name is not null:
                await ServePatchAsync(context, route);
                break;
            case "PUT" when route.Name is not null:
                // An update: the body's resourceVersion, when set, must be the current one (409 Conflict otherwise).
                var replacement = await ReadBodyAsync(request, route.Kind);
                CheckNamespace(route, replacement.Metadata);
                if (replacement.Metadata.Name != route.Name)
                {
                    throw ApiStatusException.BadRequest("the name of the object does not match the name on the URL");
                }

                await WriteObjectAsync(context.Response, cluster.Mutate(route.Kind, route.Namespace, route.Name, _ => replacement));
                break;
            default:
                throw ApiStatusException.MethodNotAllowed(request.Method);
        }
    }

    private async Task ServePatchAsync(HttpContext context, ApiRoute route)
    {
        var request = context.Request;
        var contentType = request.ContentType ?? string.Empty;
        JsonNode? patch;
        try
        {
            patch = await JsonNode.ParseAsync(request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException e)
        {
            throw ApiStatusException.BadRequest($"the body of the request is not valid JSON: {e.Message}");
        }

        var patched = cluster.Mutate(route.Kind, route.Namespace, route.Name!, current =>
        {
            var document = JsonNode.Parse(current.Json)!;
            var result = JsonPatcher.Apply(contentType, document, patch)
                ?? throw ApiStatusException.BadRequest("a patch may not delete the object");
            try
            {
                return route.Kind.Deserialize(result.ToJsonString());
            }
            catch (JsonException e)
            {
                throw new ApiStatusException(HttpStatusCode.UnprocessableEntity, "Invalid", $"the patched object is not a valid {route.Kind.Kind}: {e.Message}");
            }
        });
        await WriteObjectAsync(context.Response, patched);
    }

    private async Task ServeListAsync(HttpContext context, ApiRoute route)
    {
        var query = context.Request.Query;
        var filter = FilterOf(route, query);
        var limit = ParseLimit(query["limit"]);
        var continueParameter = query["continue"].ToString();
        var resourceVersionParameter = query["resourceVersion"].ToString();
        var match = query["resourceVersionMatch"].ToString();

        if (faults.ListFault is { } listFault)
        {
            throw FaultStatus(listFault, resourceVersionParameter);
        }

        var latency = faults.Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, time, context.RequestAborted);
        }

        ContinueToken? start = null;
        long? at = null;
        if (continueParameter.Length > 0)
        {
            if (resourceVersionParameter.Length > 0 && resourceVersionParameter != "0")
            {
                throw ApiStatusException.BadRequest("specifying resource version is not allowed when using continue");
            }

            var token = ContinueToken.Decode(continueParameter);
            start = token;
            at = token.ResourceVersion < 0 ? null : token.ResourceVersion;
        }
        else
        {
            if (match is not ("" or "NotOlderThan"))
            {
                throw ApiStatusException.BadRequest($"resourceVersionMatch: Unsupported value: \"{match}\"");
            }

            if (ResourceVersions.Parse(resourceVersionParameter) is > 0 and var requested)
            {
                await WaitForResourceVersionAsync(requested, context.RequestAborted);
            }
        }

        var page = cluster.List(route.Kind, filter, limit, start, at);
        await WriteListAsync(context.Response, route.Kind, page);
    }

    private async Task WaitForResourceVersionAsync(long resourceVersion, CancellationToken cancellationToken)
    {
        if (!await cluster.WaitForResourceVersionAsync(resourceVersion, TooLargeResourceVersionWait, cancellationToken))
        {
            throw ApiStatusException.TooLargeResourceVersion(resourceVersion, cluster.ResourceVersion);
        }
    }

    private ApiStatusException FaultStatus(ApiFault fault, string resourceVersion) => fault switch
    {
        ApiFault.Expired => ApiStatusException.Expired($"too old resource version: {resourceVersion} ({cluster.ResourceVersion})"),
        ApiFault.ResourceVersionTooLarge => ApiStatusException.TooLargeResourceVersion(
            ResourceVersions.Parse(resourceVersion) ?? cluster.ResourceVersion + 1, cluster.ResourceVersion),
        _ => ApiStatusException.InvalidResourceVersion(resourceVersion),
    };

    private static async Task WriteListAsync(HttpResponse response, ResourceKind kind, ListPage page)
    {
        response.StatusCode = (int)HttpStatusCode.OK;
        response.ContentType = Json;
        var writer = response.BodyWriter;

        var head = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(head))
        {
            json.WriteStartObject();
            json.WriteString("kind", kind.ListKind);
            json.WriteString("apiVersion", kind.ApiVersion);
            json.WriteStartObject("metadata");
            json.WriteString("resourceVersion", ResourceVersions.Format(page.ResourceVersion));
            if (page.Continue is not null)
            {
                json.WriteString("continue", page.Continue);
            }

            if (page.RemainingItemCount is { } remaining)
            {
                json.WriteNumber("remainingItemCount", remaining);
            }

            json.WriteEndObject();
            json.WritePropertyName("items");
            json.WriteStartArray();
            json.Flush();
        }

        writer.Write(head.WrittenSpan);
        var pending = 0;
        for (var i = 0; i < page.Items.Count; i++)
        {
            if (i > 0)
            {
                writer.Write(","u8);
            }

            var item = page.Items[i].ListItemJson;
            writer.Write(item);
            pending += item.Length;
            if (pending >= FlushThreshold)
            {
                await writer.FlushAsync();
                pending = 0;
            }
        }

        writer.Write("]}"u8);
        await writer.FlushAsync();
    }

    private async Task ServeWatchAsync(HttpContext context, ApiRoute route)
    {
        var query = context.Request.Query;
        var filter = FilterOf(route, query);
        var from = ResourceVersions.Parse(query["resourceVersion"]);
        var bookmarks = IsTrue(query["allowWatchBookmarks"]);
        var timeoutParameter = query["timeoutSeconds"].ToString();
        var timeout = TimeSpan.Zero;
        if (timeoutParameter.Length > 0)
        {
            timeout = int.TryParse(timeoutParameter, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                ? TimeSpan.FromSeconds(seconds)
                : throw ApiStatusException.BadRequest($"invalid timeoutSeconds: \"{timeoutParameter}\"");
        }

        var watch = new WatchStream(route.Kind, filter, bookmarks);
        var fault = faults.WatchFault;
        if (fault == ApiFault.InvalidResourceVersion)
        {
            throw FaultStatus(fault.Value, query["resourceVersion"].ToString());
        }

        if (fault is { } inBand)
        {
            // kube-apiserver's watch cache reports these in-band: 200, one ERROR event, the end of the stream.
            watch.Enqueue(ApiJson.ErrorLine(FaultStatus(inBand, query["resourceVersion"].ToString())));
            watch.Complete();
        }
        else
        {
            // resourceVersion unset or "0": the current state as ADDED events first.
            cluster.StartWatch(watch, from is > 0 ? from : null);
            if (faults.StallWatches)
            {
                cluster.SilenceWatches(watch);
            }
        }

        try
        {
            var response = context.Response;
            response.StatusCode = (int)HttpStatusCode.OK;
            response.ContentType = Json;
            response.Headers.CacheControl = "no-cache, private";
            await response.StartAsync(context.RequestAborted);
            await response.BodyWriter.FlushAsync(context.RequestAborted);

            using var expiry = timeout > TimeSpan.Zero ? new CancellationTokenSource(timeout, time) : new CancellationTokenSource();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(expiry.Token, context.RequestAborted, shutdown);
            // Like kube-apiserver's watch cache: a BOOKMARK about 2 s before timeoutSeconds, so that a client resuming
            // after the timeout starts from the latest resourceVersion.
            using var preTimeoutBookmark = bookmarks && timeout > TimeSpan.FromSeconds(2)
                ? time.CreateTimer(_ => cluster.SendBookmark(watch), null, timeout - TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan)
                : null;
            await watch.WriteAsync(context, stop.Token);
            if (watch.Silenced)
            {
                // A half-open connection: the client hears nothing, not even the end, until it gives up itself.
                using var gone = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, shutdown);
                await Task.Delay(Timeout.InfiniteTimeSpan, gone.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        finally
        {
            cluster.StopWatch(watch);
        }
    }
}
