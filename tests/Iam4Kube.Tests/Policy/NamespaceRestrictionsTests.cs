using System.Net;
using Iam4Kube.Credentials;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;
using Iam4Kube.Waiting;
using k8s.Models;

namespace Iam4Kube.Tests.Policy;

/// <summary>
/// --namespace-restrictions and --allowed-roles end to end: iam4kube against the fake API server, Namespaces edited
/// through it while clients ask for credentials.
/// </summary>
public sealed class NamespaceRestrictionsTests : ClusterBeforeAppTests
{
    private const string CredentialsPath = "/latest/meta-data/iam/security-credentials/";
    private static readonly string Reader = KubeObjects.RoleArn("reader");

    [Fact]
    public async Task ANamespaceEditForbidsARoleWhileAClientPollsAndNotOneCredentialsAnswerFollowsTheFirstRefusal()
    {
        Host.Api.Create(KubeObjects.Namespace("team-a", allowedRoles: """["reader"]"""));
        Host.Api.Create(KubeObjects.ServiceAccount("team-a", "app", Reader));
        Host.Api.Create(KubeObjects.Pod("team-a", "web", "127.0.61.1", "app"));
        await Host.StartAppAsync(o => o with { NamespaceRestrictions = true });
        await Host.WaitUntilReadyAsync();
        using var client = Host.ClientFrom("127.0.61.1");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(CredentialsPath + "reader")).StatusCode);

        var answers = new List<(HttpStatusCode Status, string Body)>();
        using var stop = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            // One client, one request at a time: the order of answers is the order iam4kube decided them in.
            while (!stop.IsCancellationRequested)
            {
                var response = await client.GetAsync(CredentialsPath + "reader");
                var body = await response.Content.ReadAsStringAsync();
                lock (answers)
                {
                    answers.Add((response.StatusCode, body));
                }
            }
        });
        await Eventually.TrueAsync(() => Count(answers) > 20, TimeSpan.FromSeconds(10), "the client never got answers");

        var ns = Host.Api.Get<V1Namespace>(null, "team-a")!;
        ns.Metadata.Annotations[KubeObjects.AllowedRolesAnnotation] = """["writer"]""";
        Host.Api.Update(ns);
        var firstRefusal = -1;
        await Eventually.TrueAsync(
            () =>
            {
                lock (answers)
                {
                    firstRefusal = answers.FindIndex(a => a.Status == HttpStatusCode.NotFound);
                    return firstRefusal >= 0 && answers.Count > firstRefusal + 50;
                }
            },
            TimeSpan.FromSeconds(20), "the edit was never observed, or the client stopped polling");

        await stop.CancelAsync();
        await poller;
        Assert.True(firstRefusal > 20, "no credentials answers before the edit: the test proves nothing");
        Assert.All(answers.Take(firstRefusal), a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.All(answers.Skip(firstRefusal), a => Assert.Equal(HttpStatusCode.NotFound, a.Status));
        Assert.Contains($"role {Reader} is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles", answers[firstRefusal].Body);

        // Told on the pod and in the metric; the role's credentials dropped, so no prefetch keeps them fresh.
        await Eventually.TrueAsync(
            () => Host.Api.Events.Any(e => e is { Reason: "IamRoleForbidden", Type: "Warning" } && e.InvolvedObject.Name == "web"
                && e.Message.Contains("by iam.amazonaws.com/allowed-roles", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "no IamRoleForbidden Warning Event on the pod");
        using var admin = Host.AdminClient();
        Assert.Contains("iam4kube_request_outcomes_total{outcome=\"role_forbidden\"}", await admin.GetStringAsync("/metrics"));
        await Eventually.TrueAsync(() => Host.Service<CredentialStore>().Count == 0, TimeSpan.FromSeconds(10), "the forbidden role's credentials are still kept");
    }

    [Fact]
    public async Task APermitWakesARequestParkedForItsNamespace()
    {
        Host.Api.Create(KubeObjects.ServiceAccount("team-b", "app", Reader));
        Host.Api.Create(KubeObjects.Pod("team-b", "web", "127.0.61.2", "app"));
        await Host.StartAppAsync(o => o with { NamespaceRestrictions = true, WaitTimeout = TimeSpan.FromSeconds(20) });
        await Host.WaitUntilReadyAsync();
        Assert.Empty(Host.Sts.Calls);
        using var client = Host.ClientFrom("127.0.61.2", TimeSpan.FromSeconds(30));

        var request = client.GetAsync(CredentialsPath + "reader");
        await Eventually.TrueAsync(() => Host.Service<ParkedRequestBudget>().Parked == 1, TimeSpan.FromSeconds(10), "the request never parked");
        Assert.False(request.IsCompleted);
        Host.Api.Create(KubeObjects.Namespace("team-b", permitted: "reader"));

        var response = await request.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("SecretAccessKey", await response.Content.ReadAsStringAsync());
        Assert.Contains(Host.Sts.Calls, c => c.RoleArn == Reader && c.RoleSessionName == "team-b@app");
    }

    [Fact]
    public async Task ANamespaceWithoutRulesPermitsNothingAndStsIsNeverAsked()
    {
        Host.Api.Create(KubeObjects.Namespace("team-c"));
        Host.Api.Create(KubeObjects.ServiceAccount("team-c", "app", Reader));
        Host.Api.Create(KubeObjects.Pod("team-c", "web", "127.0.61.3", "app"));
        await Host.StartAppAsync(o => o with { NamespaceRestrictions = true });
        await Host.WaitUntilReadyAsync();
        using var client = Host.ClientFrom("127.0.61.3");

        var listing = await client.GetAsync(CredentialsPath);

        Assert.Equal(HttpStatusCode.NotFound, listing.StatusCode);
        Assert.Contains("neither iam.amazonaws.com/allowed-roles nor iam.amazonaws.com/permitted", await listing.Content.ReadAsStringAsync());
        Assert.Empty(Host.Sts.Calls);
    }

    [Fact]
    public async Task AMalformedAnnotationPermitsNothingAndIsCountedAndLogged()
    {
        Host.Api.Create(KubeObjects.Namespace("team-d", allowedRoles: "reader"));
        Host.Api.Create(KubeObjects.ServiceAccount("team-d", "app", Reader));
        Host.Api.Create(KubeObjects.Pod("team-d", "web", "127.0.61.4", "app"));
        await Host.StartAppAsync(o => o with { NamespaceRestrictions = true });
        await Host.WaitUntilReadyAsync();
        using var client = Host.ClientFrom("127.0.61.4");

        var response = await client.GetAsync(CredentialsPath + "reader");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("annotation iam.amazonaws.com/allowed-roles is malformed", await response.Content.ReadAsStringAsync());
        using var admin = Host.AdminClient();
        Assert.Contains("iam4kube_namespace_rules_invalid 1", await admin.GetStringAsync("/metrics"));
        Assert.Contains(Host.LogText.Split('\n'), line => line.Contains("team-d", StringComparison.Ordinal)
            && line.Contains("annotation iam.amazonaws.com/allowed-roles is malformed", StringComparison.Ordinal) && line.Contains("\"@l\":\"Warning\"", StringComparison.Ordinal));
        Assert.Empty(Host.Sts.Calls);
    }

    [Fact]
    public async Task TheAllowListRefusesARoleOfAnotherAccountWithoutAskingSts()
    {
        Host.Api.Create(KubeObjects.ServiceAccount("team-e", "app", Reader));
        Host.Api.Create(KubeObjects.Pod("team-e", "web", "127.0.61.5", "app"));
        await Host.StartAppAsync(o => o with { AllowedRoles = ["arn:aws:iam::999999999999:role/*"] });
        await Host.WaitUntilReadyAsync();
        using var client = Host.ClientFrom("127.0.61.5");

        var response = await client.GetAsync(CredentialsPath + "reader");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains($"role {Reader} is not permitted by --allowed-roles", await response.Content.ReadAsStringAsync());
        await Eventually.TrueAsync(
            () => Host.Api.Events.Any(e => e.Reason == "IamRoleForbidden" && e.Message.Contains("--allowed-roles", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "no IamRoleForbidden Event naming --allowed-roles");
        Assert.Empty(Host.Sts.Calls);
    }

    private static int Count<T>(List<T> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }
}
