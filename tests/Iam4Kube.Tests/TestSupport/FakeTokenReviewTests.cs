using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.TestSupport;

/// <summary>The fake kube-apiserver's ServiceAccount tokens and TokenReview, through the real KubernetesClient.</summary>
public sealed class FakeTokenReviewTests : IAsyncLifetime
{
    private const string Audience = "iam4kube.io/pod-identity";
    private readonly FakeKubernetesApiServer _server = new();
    private IKubernetes _client = null!;
    private V1Pod _pod = null!;

    public async Task InitializeAsync()
    {
        await _server.StartAsync();
        _client = _server.CreateClient();
        _server.Create(KubeObjects.Node("node-1"));
        _server.Create(KubeObjects.ServiceAccount("team", "app", KubeObjects.RoleArn("app-role")));
        _pod = _server.Create(KubeObjects.Pod("team", "app-1", "10.0.0.1", "app"));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<V1TokenReview> ReviewAsync(string token, params string[] audiences) =>
        _client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview
        {
            ApiVersion = "authentication.k8s.io/v1",
            Kind = "TokenReview",
            Spec = new V1TokenReviewSpec { Token = token, Audiences = audiences.Length == 0 ? null : audiences },
        });

    [Fact]
    public async Task AuthenticatesABoundTokenAsItsServiceAccountWithThePodInExtra()
    {
        var token = _server.IssueServiceAccountToken("team", "app-1", [Audience, "other"]);

        var review = await ReviewAsync(token, Audience);

        Assert.True(review.Status.Authenticated);
        Assert.Equal("system:serviceaccount:team:app", review.Status.User.Username);
        Assert.Equal(_server.Get<V1ServiceAccount>("team", "app")!.Metadata.Uid, review.Status.User.Uid);
        Assert.Equal(["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"], review.Status.User.Groups);
        Assert.Equal(["app-1"], review.Status.User.Extra["authentication.kubernetes.io/pod-name"]);
        Assert.Equal([_pod.Metadata.Uid], review.Status.User.Extra["authentication.kubernetes.io/pod-uid"]);
        Assert.Equal(["node-1"], review.Status.User.Extra["authentication.kubernetes.io/node-name"]);
        Assert.StartsWith("JTI=", review.Status.User.Extra["authentication.kubernetes.io/credential-id"].Single(), StringComparison.Ordinal);
        Assert.Equal([Audience], review.Status.Audiences);
        Assert.Null(review.Status.Error);
        Assert.Equal(1, _server.TokenReviewCount);
    }

    [Fact]
    public async Task RefusesATokenOfAnotherAudienceAndChecksTheApiServersOwnWhenNoneIsAsked()
    {
        var token = _server.IssueServiceAccountToken("team", "app-1", ["sts.amazonaws.com"]);

        var review = await ReviewAsync(token, Audience);
        var apiAudience = await ReviewAsync(token);

        Assert.NotEqual(true, review.Status.Authenticated);
        Assert.Contains("is invalid for the target audiences", review.Status.Error, StringComparison.Ordinal);
        Assert.NotEqual(true, apiAudience.Status.Authenticated);
    }

    [Fact]
    public async Task RefusesExpiredTamperedAndForeignTokens()
    {
        var expired = _server.IssueServiceAccountToken("team", "app-1", [Audience], DateTimeOffset.UtcNow.AddMinutes(-2));
        var good = _server.IssueServiceAccountToken("team", "app-1", [Audience]);
        var parts = good.Split('.');
        var tampered = $"{parts[0]}.{parts[1][..^2]}{(parts[1][^2] == 'A' ? 'B' : 'A')}{parts[1][^1]}.{parts[2]}";

        Assert.Contains("expired", (await ReviewAsync(expired, Audience)).Status.Error, StringComparison.Ordinal);
        Assert.NotEqual(true, (await ReviewAsync(tampered, Audience)).Status.Authenticated);
        var foreign = await ReviewAsync("not-a-jwt", Audience);
        Assert.NotEqual(true, foreign.Status.Authenticated);
        Assert.Null(foreign.Status.Error);
    }

    [Fact]
    public async Task InvalidatesTheTokensOfADeletedPodAndOfAPodReplacedUnderItsName()
    {
        var token = _server.IssueServiceAccountToken("team", "app-1", [Audience]);
        _server.Delete<V1Pod>("team", "app-1");
        Assert.Contains("invalidated", (await ReviewAsync(token, Audience)).Status.Error, StringComparison.Ordinal);

        _server.Create(KubeObjects.Pod("team", "app-1", "10.0.0.1", "app"));
        Assert.NotEqual(true, (await ReviewAsync(token, Audience)).Status.Authenticated);
    }
}
