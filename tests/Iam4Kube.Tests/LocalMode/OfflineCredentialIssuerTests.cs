using Iam4Kube.Credentials;
using Iam4Kube.LocalMode;
using Iam4Kube.Observability;
using Iam4Kube.Roles;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.LocalMode;

public sealed class OfflineCredentialIssuerTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);

    private static IamRole Role(string name)
    {
        Assert.True(RoleArn.TryParse($"arn:aws:iam::111122223333:role/{name}", out var arn, out var error), error);
        return new IamRole(arn, null, $"default@{name}");
    }

    private OfflineCredentialIssuer Issuer() => new(_time, NullLogger<OfflineCredentialIssuer>.Instance);

    [Fact]
    public async Task AccessKeyIdsCarryAClearlyFakePrefixAndTheShapeOfStsSessionKeys()
    {
        var issuer = Issuer();
        var first = await issuer.IssueAsync(Role("reader"), TimeSpan.FromHours(1), CancellationToken.None);
        var second = await issuer.IssueAsync(Role("reader"), TimeSpan.FromHours(1), CancellationToken.None);

        foreach (var credentials in new[] { first, second })
        {
            Assert.StartsWith("ASIAOFFLINE", credentials.AccessKeyId, StringComparison.Ordinal);
            Assert.Equal(20, credentials.AccessKeyId.Length);
            Assert.All(credentials.AccessKeyId, c => Assert.True(char.IsAsciiDigit(c) || char.IsAsciiLetterUpper(c), $"'{c}' in {credentials.AccessKeyId}"));
            Assert.Equal(40, credentials.SecretAccessKey.Length);
            Assert.StartsWith("IAM4KUBE-OFFLINE-", credentials.SessionToken, StringComparison.Ordinal);
        }

        Assert.NotEqual(first.AccessKeyId, second.AccessKeyId);
        Assert.NotEqual(first.SecretAccessKey, second.SecretAccessKey);
        Assert.NotEqual(first.SessionToken, second.SessionToken);
    }

    [Theory]
    [InlineData(15)]
    [InlineData(60)]
    [InlineData(720)]
    public async Task ExpireOneSessionDurationAfterTheyAreIssued(int minutes)
    {
        _time.Advance(TimeSpan.FromMinutes(3));

        var credentials = await Issuer().IssueAsync(Role("reader"), TimeSpan.FromMinutes(minutes), CancellationToken.None);

        Assert.Equal(Start + TimeSpan.FromMinutes(3), credentials.LastUpdated);
        Assert.Equal(credentials.LastUpdated + TimeSpan.FromMinutes(minutes), credentials.Expiration);
    }

    [Fact]
    public async Task NeverShowTheSecretPartsWhenLoggedOrPrinted()
    {
        var credentials = await Issuer().IssueAsync(Role("reader"), TimeSpan.FromHours(1), CancellationToken.None);

        var printed = credentials.ToString();
        Assert.DoesNotContain(credentials.SecretAccessKey, printed, StringComparison.Ordinal);
        Assert.DoesNotContain(credentials.SessionToken, printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AreRefreshedBeforeTheyExpireLikeStsCredentials()
    {
        var duration = TimeSpan.FromHours(1);
        var store = new CredentialStore();
        await using var limiter = new StsRateLimiter(10, 20);
        using var refresher = new CredentialRefresher(store, Issuer(), new FreshnessPolicy(duration), limiter, new Iam4KubeMetrics(), _time,
            NullLogger<CredentialRefresher>.Instance);
        await refresher.StartAsync(CancellationToken.None);
        var role = Role("reader");

        refresher.Want(role);
        var first = await CurrentAsync(store, role, previous: null);
        Assert.Equal(Start + duration, first.Expiration);

        // Minute by minute, as a clock would move: a 1 h session is refreshed 22.5-34 minutes in (FreshnessPolicy),
        // and in any case before it has less than the 15 minutes left that SDKs want.
        RoleCredentials second;
        while (true)
        {
            using var changed = store.Changed.Subscribe(role);
            if (store.Get(role)?.Current is { } current && current != first)
            {
                second = current;
                break;
            }

            Assert.True(_time.GetUtcNow() < first.Expiration - TimeSpan.FromMinutes(15), "not refreshed while still servable");
            _time.Advance(TimeSpan.FromMinutes(1));
            await Task.WhenAny(changed.Changed, Task.Delay(TimeSpan.FromMilliseconds(100)));
        }

        Assert.NotEqual(first.AccessKeyId, second.AccessKeyId);
        Assert.InRange(second.LastUpdated, Start + TimeSpan.FromMinutes(22.5), first.Expiration - TimeSpan.FromMinutes(15));
        Assert.Equal(second.LastUpdated + duration, second.Expiration);
        await refresher.StopAsync(CancellationToken.None);
    }

    /// <summary>Waits (on the store's change signal) for credentials other than <paramref name="previous"/>.</summary>
    private static async Task<RoleCredentials> CurrentAsync(CredentialStore store, IamRole role, RoleCredentials? previous)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            using var changed = store.Changed.Subscribe(role);
            if (store.Get(role)?.Current is { } current && current != previous)
            {
                return current;
            }

            await changed.Changed.WaitAsync(timeout.Token);
        }
    }
}
