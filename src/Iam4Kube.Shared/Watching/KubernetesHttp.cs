using System.Net.Http.Headers;
using System.Text;
using k8s.Autorest;

namespace Iam4Kube.Watching;

/// <summary>
/// Requests to the API server through a <see cref="KubernetesApi"/>'s <see cref="HttpClient"/> (its handler chain: TLS,
/// client certificates) and credentials, without KubernetesClient's generated typed calls (which decode with its JSON
/// of every model): <see cref="WatchStream"/>'s watches, iam4kube's <c>Cluster/KubernetesCalls.cs</c> and ip2service's
/// few other calls. A non-2xx answer throws <see cref="HttpOperationException"/> carrying the status and the (bounded)
/// body, as the typed calls do, so <see cref="WatchFailures"/> classifies both alike.
/// </summary>
internal static class KubernetesHttp
{
    /// <summary>KubernetesClient's default <c>HttpClientTimeout</c>, which bounded each typed call: each call that
    /// replaces one (not a watch) is bounded by it, body included.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(100);

    // An error body is read for its Status only; a misbehaving proxy's endless error page is cut here.
    private const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary><paramref name="path"/> (e.g. <c>api/v1/pods</c>) under the client's base address, with these query
    /// parameters escaped (null values left out).</summary>
    public static Uri Url(Uri baseUri, string path, IEnumerable<(string Name, string? Value)> query)
    {
        var url = new StringBuilder(baseUri.AbsoluteUri.TrimEnd('/')).Append('/').Append(path);
        var separator = '?';
        foreach (var (name, value) in query)
        {
            if (value is not null)
            {
                url.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
                separator = '&';
            }
        }

        return new Uri(url.ToString());
    }

    /// <summary>Sends one request accepting JSON; returns a 2xx response (the caller disposes it) or throws.
    /// <paramref name="version"/>: the HTTP version asked for (default 1.1; iam4kube asks for 2.0 where KubernetesClient's
    /// typed calls did, the server or the TLS negotiation settling on 1.1 when it has no HTTP/2).</summary>
    public static async Task<HttpResponseMessage> SendAsync(
        KubernetesApi kubernetes, HttpMethod method, Uri url, HttpContent? content, HttpCompletionOption completion, CancellationToken cancellationToken,
        Version? version = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (version is not null)
        {
            request.Version = version;
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (kubernetes.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken);
        }

        // The client's HttpClient: its handler chain (TLS, client certificates, extra handlers). With
        // ResponseHeadersRead its Timeout covers the response headers only; the caller's token ends a watch.
        var response = await kubernetes.HttpClient.SendAsync(request, completion, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = await ReadBoundedAsync(response.Content, cancellationToken);
            throw new HttpOperationException($"Operation returned an invalid status code '{response.StatusCode}'")
            {
                Request = new HttpRequestMessageWrapper(request, null),
                Response = new HttpResponseMessageWrapper(response, body),
            };
        }
    }

    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var bytes = new byte[MaxErrorBodyBytes];
        var total = 0;
        int read;
        while (total < bytes.Length && (read = await stream.ReadAsync(bytes.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return Encoding.UTF8.GetString(bytes, 0, total);
    }
}
