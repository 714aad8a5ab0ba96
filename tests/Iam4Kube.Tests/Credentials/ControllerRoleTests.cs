using Amazon.Runtime;
using Iam4Kube.Credentials;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Iam4Kube.Testing.Sts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.Credentials;

/// <summary>The controller role's session (--assume-role-arn): reused, renewed ahead of expiry, never handed out expired.</summary>
public sealed class ControllerRoleTests : IDisposable
{
    private const string ControllerArn = "arn:aws:iam::999988887777:role/iam4kube-controller";
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly FakeSts _sts;
    private readonly StsRateLimiter _limiter = new(100, 100);
    private readonly ControllerRole _controller;

    public ControllerRoleTests()
    {
        _sts = FakeSts.Start(_time);
        var options = new Iam4KubeOptions { StsEndpoint = _sts.Url, Region = "eu-west-1" };
        _controller = new ControllerRole(
            Iam4KubeServiceCollectionExtensions.CreateStsClient(options, new BasicAWSCredentials("AKIAOWNCREDENTIALS00", "own-secret")),
            ControllerArn, _limiter, new Iam4KubeMetrics(), _time, NullLogger<ControllerRole>.Instance);
    }

    public void Dispose()
    {
        _controller.Dispose();
        _sts.Dispose();
        _limiter.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Fact]
    public async Task ReusesTheSessionUntilFifteenMinutesBeforeItExpiresThenRenewsIt()
    {
        var first = await _controller.GetCredentialsAsync();
        Assert.Equal(first.AccessKey, (await _controller.GetCredentialsAsync()).AccessKey);
        var call = Assert.Single(_sts.Calls);
        Assert.Equal((ControllerArn, "iam4kube", 3600, "AKIAOWNCREDENTIALS00"), (call.RoleArn, call.RoleSessionName, call.DurationSeconds, call.CallerAccessKeyId));

        _time.Advance(TimeSpan.FromMinutes(44));
        Assert.Equal(first.AccessKey, (await _controller.GetCredentialsAsync()).AccessKey);
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.NotEqual(first.AccessKey, (await _controller.GetCredentialsAsync()).AccessKey);
        Assert.Equal(2, _sts.Calls.Count);
    }

    [Fact]
    public async Task KeepsAStillValidSessionWhenRenewalFailsButNeverHandsOutAnExpiredOne()
    {
        var first = await _controller.GetCredentialsAsync();
        _sts.FailWith(StsFault.ServerError);
        _time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal(first.AccessKey, (await _controller.GetCredentialsAsync()).AccessKey);
        Assert.Null(_controller.Problem);

        _time.Advance(TimeSpan.FromMinutes(11));
        var refused = await Assert.ThrowsAsync<ControllerRoleException>(_controller.GetCredentialsAsync);
        Assert.StartsWith($"cannot assume the controller role {ControllerArn} (--assume-role-arn): InternalFailure", refused.Message, StringComparison.Ordinal);
        Assert.Equal(refused.Message, _controller.Problem);
    }
}
