using Amazon.Runtime;

namespace Iam4Kube.Credentials;

/// <summary>
/// STS's clock, read from the <c>Date</c> header of its answers, which the SDK does not hand back with the response.
/// The STS client's HTTP clients come from <see cref="Factory"/>, whose handler writes each answer's Date into the
/// capture of the call that is awaiting it (an <see cref="AsyncLocal{T}"/> flows into the handler), so concurrent
/// AssumeRole calls each see their own answer's Date.
/// </summary>
internal static class StsResponseDate
{
    private static readonly AsyncLocal<Capture?> Current = new();

    /// <summary>Starts capturing the Date of the answers to calls made from here; dispose when the call returned.</summary>
    public static Capture Begin()
    {
        var capture = new Capture(Current.Value);
        Current.Value = capture;
        return capture;
    }

    /// <summary>The Date (STS's clock) of the latest answer, if any.</summary>
    internal sealed class Capture(Capture? previous) : IDisposable
    {
        public DateTimeOffset? Date { get; set; }

        public void Dispose() => Current.Value = previous;
    }

    /// <summary>Gives the SDK HTTP clients that record each answer's Date, with the config's timeout and proxy.</summary>
    internal sealed class Factory : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
            if (clientConfig.GetWebProxy() is { } proxy)
            {
                handler.Proxy = proxy;
                handler.UseProxy = true;
            }

            if (clientConfig.MaxConnectionsPerServer is { } connections)
            {
                handler.MaxConnectionsPerServer = connections;
            }

            return new HttpClient(new Recorder(handler)) { Timeout = clientConfig.Timeout ?? TimeSpan.FromSeconds(100) };
        }
    }

    private sealed class Recorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (Current.Value is { } capture)
            {
                capture.Date = response.Headers.Date;
            }

            return response;
        }
    }
}
