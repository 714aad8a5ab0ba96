using System.Net;
using System.Text;
using Iam4Kube.Cluster;
using Iam4Kube.Watching;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.AspNetCore.Hosting;

namespace Iam4Kube.Tests.Cluster;

/// <summary>
/// The watch reader both binaries' informer uses, against a server that answers exactly the bytes a test chooses:
/// what a broken or hostile API server (or something in between) can send must end the watch with an error the
/// informer reports, never crash the binary or grow its memory without bound. The fake kube-apiserver's own watch
/// behaviour through it is in FakeKubernetesApiServerTests.
/// </summary>
public sealed class WatchStreamTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private const string Added = """{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","resourceVersion":"5"}}}""";

    private WebApplication _server = null!;
    private KubernetesApi _client = null!;
    private HttpStatusCode _status = HttpStatusCode.OK;
    private byte[] _body = [];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _server = builder.Build();
        _server.MapGet("/api/v1/pods", async context =>
        {
            context.Response.StatusCode = (int)_status;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(_body);
        });
        await _server.StartAsync();
        // The connection and JSON iam4kube watches with (KubernetesApi, ApiJsonContext).
        _client = KubernetesApi.Create(new KubernetesClientConfiguration { Host = _server.Urls.Single() });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task YieldsEventsInOrderWithTheirTypesAndBookmarksCarryOnlyTheResourceVersion()
    {
        Serve(Added, """{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"6"}}}""", "",
            """{"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"7"}}}""",
            """{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"9"}}}""");

        var (events, errors) = await WatchAsync();

        Assert.Equal(
            [(WatchEventType.Added, "a", "5"), (WatchEventType.Modified, "a", "6"), (WatchEventType.Deleted, "a", "7"), (WatchEventType.Bookmark, null, "9")],
            events.Select(e => (e.Type, (string?)e.Object.Metadata.Name, e.Object.Metadata.ResourceVersion)));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AnErrorEventGoesToOnErrorAsItsStatusAndEndsTheWatch()
    {
        Serve(Added, """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (9)","reason":"Expired","code":410}}""", Added);

        var (events, errors) = await WatchAsync();

        Assert.Single(events);
        var expired = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, expired.Status.Code);
        Assert.Equal(WatchFailure.Expired, WatchFailures.Classify(expired));
    }

    [Theory]
    [InlineData("""{"type":"SURPRISE","object":{"metadata":{"name":"b"}}}""", "has the unknown type \"SURPRISE\"")]
    [InlineData("""{"type":"ADDED"}""", "of type \"ADDED\" has no object")]
    [InlineData("""{"type":"ADDED","object":null}""", "of type \"ADDED\" has no object")]
    [InlineData("""["ADDED"]""", "is not a JSON object")]
    [InlineData("""{"type":"ADDED","object":{"metadata":{"name":5}}}""", "is not valid JSON")]
    [InlineData("""{"type":"ADDED","object":{"metadata":""", "is not valid JSON")]
    public async Task ABadLineIsAnErrorThatEndsTheWatchAfterTheGoodEventsBeforeIt(string line, string expected)
    {
        Serve(Added, line, Added);

        var (events, errors) = await WatchAsync();

        Assert.Equal("a", Assert.Single(events).Object.Metadata.Name);
        var error = Assert.IsType<InvalidDataException>(Assert.Single(errors));
        Assert.Contains($"A watch event of api/v1/pods {expected}", error.Message, StringComparison.Ordinal);
        Assert.Equal(WatchFailure.Answered, WatchFailures.Classify(error));
    }

    [Fact]
    public async Task ALineLongerThanTheLimitIsAnErrorWithoutBeingReadWhole()
    {
        var huge = WithName(new string('x', 200_000));
        Serve(Added, huge, Added);

        var (events, errors) = await WatchAsync(maxEventBytes: 64 * 1024);

        Assert.Single(events);
        var error = Assert.IsType<InvalidDataException>(Assert.Single(errors));
        Assert.Equal("A watch event of api/v1/pods is longer than 65536 bytes; the watch is abandoned.", error.Message);
    }

    [Fact]
    public async Task ALineJustUnderTheLimitIsRead()
    {
        var name = new string('x', 60_000);
        Serve(WithName(name));

        var (events, errors) = await WatchAsync(maxEventBytes: 64 * 1024);

        Assert.Equal(name, Assert.Single(events).Object.Metadata.Name);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AStreamThatEndsInTheMiddleOfAnEventThrowsEndOfStream()
    {
        _body = Encoding.UTF8.GetBytes(Added + "\n" + Added[..40]);

        var error = await Assert.ThrowsAsync<EndOfStreamException>(() => WatchAsync());

        Assert.Equal(WatchFailure.Unanswered, WatchFailures.Classify(error));
    }

    [Fact]
    public async Task AnAnswerThatIsNotSuccessThrowsHttpOperationExceptionWithItsStatusBody()
    {
        _status = HttpStatusCode.Gone;
        _body = Encoding.UTF8.GetBytes("""{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410}""");

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => WatchAsync());

        Assert.Equal(HttpStatusCode.Gone, error.Response.StatusCode);
        Assert.Contains("\"Expired\"", error.Response.Content, StringComparison.Ordinal);
        Assert.Equal(WatchFailure.Expired, WatchFailures.Classify(error));
    }

    [Fact]
    public void TheUrlCarriesWatchAndTheGivenParametersEscaped()
    {
        var url = WatchStream.Url(new Uri("https://api.example:6443/prefix/"), "api/v1/pods", [("labelSelector", "a=b,c!=d"), ("resourceVersion", null), ("timeoutSeconds", "30")]);

        Assert.Equal("https://api.example:6443/prefix/api/v1/pods?watch=true&labelSelector=a%3Db%2Cc%21%3Dd&timeoutSeconds=30", url.ToString());
    }

    private static readonly WatchDecoder<V1Pod> PodDecoder = WatchDecoder<V1Pod>.From(ModelJson.Info<V1Pod>(), ModelJson.Info<V1Status>());

    private static string WithName(string name) => """{"type":"ADDED","object":{"metadata":{"name":""" + "\"" + name + "\"}}}";

    private void Serve(params string[] lines) => _body = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));

    private async Task<(List<(WatchEventType Type, V1Pod Object)> Events, List<Exception> Errors)> WatchAsync(int maxEventBytes = WatchStream.MaxEventBytes)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var errors = new List<Exception>();
        var events = await WatchStream.ReadAsync(_client, "api/v1/pods", [], PodDecoder, errors.Add, cts.Token, maxEventBytes).ToListAsync(cts.Token);
        return (events, errors);
    }
}
