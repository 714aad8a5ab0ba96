using System.Net;
using Iam4Kube.Testing.Programs;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Hosting;

/// <summary>
/// iam4kube's admin answers, byte for byte (status, content type, body): the mapping is shared with ip2service
/// (src/Iam4Kube/Hosting/AdminEndpoints.cs), each binary's words are its own.
/// </summary>
public sealed class AdminApiTests : ClusterBeforeAppTests
{
    [Fact]
    public async Task HealthzAnswersOkWithoutANewline()
    {
        await Host.StartAppAsync();
        using var admin = Host.AdminClient();

        var response = await admin.GetAsync("/healthz");

        await AdminAnswers.AssertTextAsync(response, HttpStatusCode.OK, "ok");
    }

    [Fact]
    public async Task ReadyzAnswers503WithTheReasonUntilReadyThen200Ready()
    {
        // The first lists do not come while the API server answers 503: unready, and said why.
        Host.Api.Unavailable = true;
        await Host.StartAppAsync();
        using var admin = Host.AdminClient();

        await AdminAnswers.AssertTextAsync(await admin.GetAsync("/readyz"), HttpStatusCode.ServiceUnavailable, "waiting for the first list of pods, serviceaccounts and nodes");

        Host.Api.Unavailable = false;
        await Host.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
        await AdminAnswers.AssertTextAsync(await admin.GetAsync("/readyz"), HttpStatusCode.OK, "ready");
    }

    [Fact]
    public async Task MetricsAnswersInThePrometheusTextFormat()
    {
        await Host.StartAppAsync();
        using var admin = Host.AdminClient();

        await AdminAnswers.AssertMetricsAsync(await admin.GetAsync("/metrics"), "\n# TYPE iam4kube_ready gauge\n");
    }
}
