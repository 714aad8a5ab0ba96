using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Iam4Kube.Credentials;
using Iam4Kube.Hosting;
using Iam4Kube.Roles;
using Iam4Kube.Testing.Sts;

namespace Iam4Kube.Tests.Credentials;

/// <summary>
/// How iam4kube's STS client uses its connections to STS served over TLS (a test CA): kept alive and reused, never
/// more than a bounded number at once however many calls are made together, and a connection STS closes is replaced.
/// </summary>
public sealed class StsConnectionTests : IDisposable
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create();
    private readonly FakeSts _sts;
    private readonly Iam4KubeOptions _options;
    private readonly AmazonSecurityTokenServiceClient _client;
    private readonly StsCredentialIssuer _issuer;

    public StsConnectionTests()
    {
        _sts = FakeSts.Start(tls: _ca);
        _options = CommandLine.Parse(["--sts-endpoint", _sts.Url, "--region", "eu-west-1"], _ => null).Options!;
        _client = Client(_ca.Certificate);
        _issuer = new StsCredentialIssuer(_client, TimeProvider.System, _options);
    }

    public void Dispose()
    {
        _client.Dispose();
        _sts.Dispose();
        _ca.Dispose();
    }

    [Fact]
    public void TheFakeIsServedOverTlsByName()
    {
        Assert.StartsWith("https://localhost:", _sts.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FiftyConcurrentAssumeRolesShareAtMostTheBoundedNumberOfConnections()
    {
        var issued = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => _issuer.IssueAsync(Role($"app-{i}"), Hour, CancellationToken.None)));

        Assert.Equal(50, issued.Select(c => c.AccessKeyId).Distinct().Count());
        Assert.Equal(50, _sts.Calls.Count(c => c.AccessKeyIdIssued is not null));
        Assert.InRange(_sts.ConnectionsAccepted, 1, Iam4KubeServiceCollectionExtensions.StsMaxConnections);
    }

    [Fact]
    public async Task SuccessiveAssumeRolesReuseOneKeptAliveConnection()
    {
        await IssueInTurnAsync("app", 50);

        AssertServedOver(calls: 50, connections: 1);
    }

    [Fact]
    public async Task AConnectionStsClosesIsReplacedAndTheNextCallsSucceedOnTheNewOne()
    {
        await _issuer.IssueAsync(Role("first"), Hour, CancellationToken.None);
        Assert.Equal(1, _sts.ConnectionsAccepted);

        // STS answers this one with "Connection: close" and closes the connection.
        _sts.CloseConnections = true;
        await _issuer.IssueAsync(Role("closing"), Hour, CancellationToken.None);
        Assert.Equal(1, _sts.ConnectionsAccepted);

        _sts.CloseConnections = false;
        await IssueInTurnAsync("after", 3);

        AssertServedOver(calls: 5, connections: 2);
    }

    [Fact]
    public async Task WithANewConnectionForEveryCallEachCallStillSucceeds()
    {
        _sts.CloseConnections = true;
        await IssueInTurnAsync("app", 5);

        AssertServedOver(calls: 5, connections: 5);
    }

    [Fact]
    public async Task ConcurrentCallsOverTheSharedConnectionsEachReadTheirOwnAnswersDate()
    {
        _sts.ClockOffset = TimeSpan.FromMinutes(-50);

        var issued = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => _issuer.IssueAsync(Role($"app-{i}"), Hour, CancellationToken.None)));

        Assert.All(issued, c => Assert.InRange(c.StsClockSkew!.Value, TimeSpan.FromMinutes(50) - TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(50) + TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task AServerCertificateFromAnotherAuthorityIsRefusedBeforeAnyRequestIsSent()
    {
        using var otherCa = TestCertificateAuthority.Create();
        using var distrusting = Client(otherCa.Certificate);
        var issuer = new StsCredentialIssuer(distrusting, TimeProvider.System, _options);

        var failure = await Assert.ThrowsAsync<CredentialIssueException>(() => issuer.IssueAsync(Role("app"), Hour, CancellationToken.None));

        Assert.Equal("TransportError", failure.Code);
        Assert.False(failure.Permanent);
        Assert.Empty(_sts.Calls);
    }

    /// <summary>One AssumeRole after the other (each waits for the previous answer), for roles PREFIX-0, PREFIX-1, ...</summary>
    private async Task IssueInTurnAsync(string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await _issuer.IssueAsync(Role($"{prefix}-{i}"), Hour, CancellationToken.None);
        }
    }

    private void AssertServedOver(int calls, int connections)
    {
        Assert.Equal(calls, _sts.Calls.Count(c => c.AccessKeyIdIssued is not null));
        Assert.Equal(connections, _sts.ConnectionsAccepted);
    }

    private AmazonSecurityTokenServiceClient Client(X509Certificate2 trustedRoot) =>
        Iam4KubeServiceCollectionExtensions.CreateStsClient(_options, new BasicAWSCredentials("AKIAIAM4KUBETESTS000", "iam4kube-own-secret-key-for-tests-only"),
            new X509Certificate2Collection(trustedRoot));

    private static IamRole Role(string name)
    {
        Assert.True(RoleArn.TryParse($"arn:aws:iam::111122223333:role/{name}", out var arn, out var error), error);
        return new IamRole(arn, null, $"default@{name}");
    }
}
