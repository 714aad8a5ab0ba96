using System.Net;
using Xunit;

namespace Iam4Kube.Testing.Programs;

/// <summary>What both binaries' admin endpoints (iam4kube: src/Iam4Kube/Hosting/AdminEndpoints.cs; ip2service: src/Ip2Service/Hosting/AdminApi.cs) answer, checked byte for byte.</summary>
public static class AdminAnswers
{
    /// <summary>A plain-text answer (/healthz, /readyz): exactly this status, content type, body and length.</summary>
    public static async Task AssertTextAsync(HttpResponseMessage response, HttpStatusCode status, string body)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
    }

    /// <summary>/metrics: 200 in the Prometheus text format, holding <paramref name="line"/>.</summary>
    public static async Task AssertMetricsAsync(HttpResponseMessage response, string line)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Contains(line, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
