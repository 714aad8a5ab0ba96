using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Iam4Kube.Admission;
using Iam4Kube.Observability;
using Iam4Kube.Policy;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iam4Kube.Tests.Admission;

/// <summary>
/// The validating webhook /validate/serviceaccounts over HTTPS, called with AdmissionReview JSON as kube-apiserver
/// sends it, with <c>--allowed-roles</c> and <c>--namespace-restrictions</c> on: kube2iam's allowed-roles in team-a,
/// kiam's permitted in team-k.
/// </summary>
public sealed class ServiceAccountRoleReviewerTests : IAsyncLifetime
{
    private const string AccountId = "111122223333";
    private Iam4KubeTestHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Namespace("team-a", allowedRoles: $"[\"arn:aws:iam::{AccountId}:role/team-a-*\"]"));
        _host.Api.Create(KubeObjects.Namespace("team-k", permitted: "kiam-.*"));
        await _host.StartAppAsync(o => o with
        {
            WebhookListen = new IPEndPoint(IPAddress.Loopback, 0),
            AllowedRoles = [$"arn:aws:iam::{AccountId}:role/*"],
            NamespaceRestrictions = true,
        });
        await _host.WaitUntilReadyAsync();
        _client = await _host.WebhookClientAsync();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    private static V1ServiceAccount Account(string @namespace, string? role, string? externalId = null) =>
        KubeObjects.ServiceAccount(@namespace, "app", role is null ? null : KubeObjects.RoleArn(role, AccountId), externalId);

    /// <summary>Posts the review as kube-apiserver does; returns the response, its uid checked.</summary>
    private async Task<JsonNode> ReviewAsync(string operation, V1ServiceAccount? serviceAccount, V1ServiceAccount? old = null, bool dryRun = false)
    {
        var uid = Guid.NewGuid().ToString();
        var response = await AdmissionReviews.PostAsync(_client, "/validate/serviceaccounts", AdmissionReviews.ServiceAccount(operation, serviceAccount, old, uid, dryRun), uid);
        Assert.Null(response["patch"]);
        return response;
    }

    /// <summary>Asserts a refusal in the shape kubectl prints as "Error from server (Forbidden): … denied the request: MESSAGE".</summary>
    private static void AssertForbidden(JsonNode response, string message)
    {
        Assert.False(response["allowed"]!.GetValue<bool>());
        var status = response["status"]!;
        Assert.Equal(403, status["code"]!.GetValue<int>());
        Assert.Equal("Forbidden", status["reason"]!.GetValue<string>());
        Assert.Equal("Failure", status["status"]!.GetValue<string>());
        Assert.Equal(message, status["message"]!.GetValue<string>());
    }

    private static void AssertAllowedSilently(JsonNode response)
    {
        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.Null(response["status"]);
        Assert.Null(response["warnings"]);
    }

    private double Reviews(string verdict) =>
        _host.Service<Iam4KubeMetrics>().AdmissionReviews.WithLabels("/validate/serviceaccounts", verdict).Value;

    [Fact]
    public async Task AllowsARolePermittedByTheAllowListAndTheNamespacesAllowedRoles()
    {
        var response = await ReviewAsync("CREATE", Account("team-a", "team-a-app"));

        AssertAllowedSilently(response);
        Assert.Equal(1, Reviews("allowed"));
    }

    [Fact]
    public async Task AllowsAServiceAccountWithoutARoleAnnotation()
    {
        AssertAllowedSilently(await ReviewAsync("CREATE", Account("team-a", role: null)));
        AssertAllowedSilently(await ReviewAsync("CREATE", Account("no-rules-here", role: null)));
    }

    [Fact]
    public async Task RefusesARoleOutsideAllowedRolesNamingTheFlag()
    {
        var response = await ReviewAsync("CREATE", KubeObjects.ServiceAccount("team-a", "app", "arn:aws:iam::444455556666:role/team-a-app"));

        AssertForbidden(response, "role arn:aws:iam::444455556666:role/team-a-app is not permitted by --allowed-roles");
    }

    [Fact]
    public async Task RefusesARoleTheNamespacesAllowedRolesDoesNotPermitWithTheMessageKubectlShows()
    {
        var response = await ReviewAsync("CREATE", Account("team-a", "x"));

        AssertForbidden(response, $"role arn:aws:iam::{AccountId}:role/x is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles");
        Assert.Equal(1, Reviews("denied"));
    }

    [Fact]
    public async Task RefusesARoleKiamsPermittedDoesNotPermitAndAllowsOneItDoes()
    {
        var forbidden = await ReviewAsync("CREATE", Account("team-k", "team-a-app"));
        var permitted = await ReviewAsync("CREATE", Account("team-k", "kiam-reader"));

        AssertForbidden(forbidden, $"role arn:aws:iam::{AccountId}:role/team-a-app is not permitted in namespace team-k by iam.amazonaws.com/permitted");
        AssertAllowedSilently(permitted);
    }

    [Fact]
    public async Task RefusesAMalformedRoleArnOrExternalIdWithoutRepeatingTheExternalId()
    {
        var badArn = KubeObjects.ServiceAccount("team-a", "app", "arn:aws:iam::12345:role/team-a-app");
        const string externalId = "shared secret!";

        var arn = await ReviewAsync("CREATE", badArn);
        var id = await ReviewAsync("UPDATE", Account("team-a", "team-a-app", externalId), Account("team-a", "team-a-app"));

        Assert.False(arn["allowed"]!.GetValue<bool>());
        Assert.StartsWith("ServiceAccount team-a/app: annotation iam.amazonaws.com/roleArn: ", arn["status"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        AssertForbidden(id, "ServiceAccount team-a/app: annotation iam.amazonaws.com/roleExternalId: may contain only letters, digits and +=,.@:/_-");
        Assert.Equal(2, Reviews("denied"));
        Assert.Contains(_host.LogText.Split('\n'), line => line.Contains("Denied", StringComparison.Ordinal) && line.Contains("UPDATE", StringComparison.Ordinal)
            && line.Contains("jane@example.com", StringComparison.Ordinal) && line.Contains("roleExternalId", StringComparison.Ordinal));
        Assert.DoesNotContain(externalId, _host.LogText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusesAnExternalIdWithoutARole()
    {
        var serviceAccount = Account("team-a", role: null);
        serviceAccount.Metadata.Annotations = new Dictionary<string, string> { ["iam.amazonaws.com/roleExternalId"] = "abc123" };

        var response = await ReviewAsync("CREATE", serviceAccount);

        AssertForbidden(response, "ServiceAccount team-a/app: annotation iam.amazonaws.com/roleExternalId is set but iam.amazonaws.com/roleArn is not");
    }

    [Fact]
    public async Task RefusesAnUpdateThatChangesTheRoleToAForbiddenOne()
    {
        var response = await ReviewAsync("UPDATE", Account("team-a", "x"), Account("team-a", "team-a-app"));

        AssertForbidden(response, $"role arn:aws:iam::{AccountId}:role/x is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles");
    }

    [Fact]
    public async Task AllowsAnUpdateThatLeavesAForbiddenRoleAsItWasWithAWarning()
    {
        // The namespace's rules tightened after the ServiceAccount was made: a label edit must still go through.
        var old = Account("team-a", "x");
        var relabelled = Account("team-a", "x");
        relabelled.Metadata.Labels = new Dictionary<string, string> { ["team"] = "a" };

        var response = await ReviewAsync("UPDATE", relabelled, old);

        Assert.True(response["allowed"]!.GetValue<bool>());
        var warning = Assert.Single(response["warnings"]!.AsArray())!.GetValue<string>();
        Assert.StartsWith($"role arn:aws:iam::{AccountId}:role/x is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles; the role annotations are unchanged", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowsDeletingAServiceAccountWhoseRoleIsForbidden()
    {
        var response = await ReviewAsync("DELETE", serviceAccount: null, old: Account("team-a", "x"));

        AssertAllowedSilently(response);
    }

    [Fact]
    public async Task AllowsARoleInANamespaceNotSeenYetWithAWarningSinceServingStillRefusesUntilItsRulesAreKnown()
    {
        var response = await ReviewAsync("CREATE", Account("team-new", "anything"));

        Assert.True(response["allowed"]!.GetValue<bool>());
        var warning = Assert.Single(response["warnings"]!.AsArray())!.GetValue<string>();
        Assert.StartsWith("namespace team-new is not known to iam4kube yet", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADryRunGetsTheSameVerdictAndWritesNothing()
    {
        var writesBefore = _host.Api.Requests.Count(r => r.Method is "POST" or "PUT" or "PATCH" or "DELETE");

        var response = await ReviewAsync("CREATE", Account("team-a", "x"), dryRun: true);

        AssertForbidden(response, $"role arn:aws:iam::{AccountId}:role/x is not permitted in namespace team-a by iam.amazonaws.com/allowed-roles");
        Assert.Equal(writesBefore, _host.Api.Requests.Count(r => r.Method is "POST" or "PUT" or "PATCH" or "DELETE"));
        Assert.Contains(_host.LogText.Split('\n'), line => line.Contains("Denied", StringComparison.Ordinal) && line.Contains("dryRun True", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CountsAMalformedReviewAndAnswersIt400()
    {
        using var answer = await _client.PostAsync("/validate/serviceaccounts", new StringContent("{\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{}}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal(1, Reviews("malformed"));
    }

    [Fact]
    public void WithoutRestrictionsAnyWellFormedRoleIsAllowedAndAMalformedOneIsStillRefused()
    {
        var reviewer = new ServiceAccountRoleReviewer(RoleGuard.Off(new NamespaceStore(NullLogger<NamespaceStore>.Instance)));
        static AdmissionRequest Request(V1ServiceAccount serviceAccount) =>
            System.Text.Json.JsonSerializer.Deserialize(AdmissionReviews.ServiceAccount("CREATE", serviceAccount, null, "u1"), AdmissionJsonContext.Default.AdmissionReview)!.Request!;

        var anyRole = reviewer.Review(Request(KubeObjects.ServiceAccount("team-z", "app", "arn:aws:iam::444455556666:role/anything")));
        var malformed = reviewer.Review(Request(KubeObjects.ServiceAccount("team-z", "app", "arn:aws:iam::444455556666:user/anything")));

        Assert.Equal(("u1", true, null), (anyRole.Uid, anyRole.Allowed, anyRole.Warnings));
        Assert.False(malformed.Allowed);
        Assert.Equal((403, "Forbidden"), (malformed.Status!.Code, malformed.Status.Reason));
        Assert.StartsWith("ServiceAccount team-z/app: annotation iam.amazonaws.com/roleArn: ", malformed.Status.Message, StringComparison.Ordinal);
    }
}
