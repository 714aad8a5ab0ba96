using System.Diagnostics;
using System.Net;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Iam4Kube.Testing.Sts;

namespace Iam4Kube.Tests.TestSupport;

/// <summary>The fake STS, exercised with the real AWS SDK for .NET client.</summary>
public sealed class FakeStsTests : IDisposable
{
    private const string RoleArn = "arn:aws:iam::123456789012:role/team/app-reader";
    private const string OtherRoleArn = "arn:aws:iam::123456789012:role/other";

    private readonly FakeSts _sts = FakeSts.Start();
    private readonly AmazonSecurityTokenServiceClient _client;

    public FakeStsTests()
    {
        _client = new AmazonSecurityTokenServiceClient(
            new BasicAWSCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            new AmazonSecurityTokenServiceConfig
            {
                ServiceURL = _sts.Url,
                AuthenticationRegion = "us-east-1",
                MaxErrorRetry = 0,
                Timeout = TimeSpan.FromSeconds(10),
            });
    }

    public void Dispose()
    {
        _client.Dispose();
        _sts.Dispose();
    }

    [Fact]
    public async Task AssumeRoleReturnsFreshCredentialsMintedForThatRoleAndSession()
    {
        var before = DateTimeOffset.UtcNow;

        var response = await _client.AssumeRoleAsync(new AssumeRoleRequest
        {
            RoleArn = RoleArn,
            RoleSessionName = "default@app",
            ExternalId = "ext-123",
            DurationSeconds = 1800,
        });

        var credentials = response.Credentials;
        Assert.Matches("^ASIA[A-Z0-9]{16}$", credentials.AccessKeyId);
        Assert.Equal(40, credentials.SecretAccessKey.Length);
        Assert.True(credentials.SessionToken.Length > 100);
        var expiration = new DateTimeOffset(credentials.Expiration!.Value.ToUniversalTime());
        Assert.InRange(expiration, before.AddSeconds(1800 - 2), DateTimeOffset.UtcNow.AddSeconds(1800 + 1));
        Assert.Equal("arn:aws:sts::123456789012:assumed-role/app-reader/default@app", response.AssumedRoleUser.Arn);
        Assert.EndsWith(":default@app", response.AssumedRoleUser.AssumedRoleId, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(response.ResponseMetadata.RequestId));

        var issued = _sts.Issued[credentials.AccessKeyId];
        Assert.Equal((RoleArn, "default@app", "ext-123"), (issued.RoleArn, issued.RoleSessionName, issued.ExternalId));
        Assert.Equal(credentials.SecretAccessKey, issued.SecretAccessKey);
        Assert.Equal(credentials.SessionToken, issued.SessionToken);
        var call = Assert.Single(_sts.Calls);
        Assert.Equal(new AssumeRoleCall(RoleArn, "default@app", "ext-123", 1800, call.At, credentials.AccessKeyId), call with { Tags = [], TransitiveTagKeys = [], CallerAccessKeyId = null });
        Assert.Empty(call.Tags);
        Assert.NotNull(call.CallerAccessKeyId);
    }

    [Fact]
    public async Task EveryCallMintsDifferentCredentials()
    {
        var first = await AssumeAsync(RoleArn);
        var second = await AssumeAsync(RoleArn);

        Assert.NotEqual(first.Credentials.AccessKeyId, second.Credentials.AccessKeyId);
        Assert.NotEqual(first.Credentials.SecretAccessKey, second.Credentials.SecretAccessKey);
        Assert.NotEqual(first.Credentials.SessionToken, second.Credentials.SessionToken);
        Assert.Equal(2, _sts.Issued.Count);
    }

    [Fact]
    public async Task DefaultDurationIsAnHourAndCredentialLifetimeOverridesIt()
    {
        await _client.AssumeRoleAsync(new AssumeRoleRequest { RoleArn = RoleArn, RoleSessionName = "s1" });
        _sts.CredentialLifetime = TimeSpan.FromMinutes(5);
        var shortLived = await AssumeAsync(RoleArn);

        Assert.Equal(3600, _sts.Calls[0].DurationSeconds);
        var expiration = new DateTimeOffset(shortLived.Credentials.Expiration!.Value.ToUniversalTime());
        Assert.InRange(expiration, DateTimeOffset.UtcNow.AddMinutes(4), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task ThrottlingIsA400ThrottlingErrorFromTheSender()
    {
        _sts.FailWith(StsFault.Throttling);

        var error = await Assert.ThrowsAsync<AmazonSecurityTokenServiceException>(() => AssumeAsync(RoleArn));

        Assert.Equal("Throttling", error.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(ErrorType.Sender, error.ErrorType);
        Assert.Equal("Rate exceeded", error.Message);
        Assert.Null(Assert.Single(_sts.Calls).AccessKeyIdIssued);
    }

    [Fact]
    public async Task AccessDeniedIsA403NamingTheRole()
    {
        _sts.FailWith(StsFault.AccessDenied);

        var error = await Assert.ThrowsAsync<AmazonSecurityTokenServiceException>(() => AssumeAsync(RoleArn));

        Assert.Equal("AccessDenied", error.ErrorCode);
        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Contains($"is not authorized to perform: sts:AssumeRole on resource: {RoleArn}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerErrorIsA500InternalFailure()
    {
        _sts.FailWith(StsFault.ServerError);

        var error = await Assert.ThrowsAsync<AmazonSecurityTokenServiceException>(() => AssumeAsync(RoleArn));

        Assert.Equal("InternalFailure", error.ErrorCode);
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal(ErrorType.Receiver, error.ErrorType);
    }

    [Fact]
    public async Task LatencyAnswersCorrectlyAfterTheDelay()
    {
        _sts.FailWith(StsFault.Latency(TimeSpan.FromMilliseconds(300)));
        var clock = Stopwatch.StartNew();

        var response = await AssumeAsync(RoleArn);

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"answered after {clock.Elapsed}");
        Assert.Equal(RoleArn, _sts.Issued[response.Credentials.AccessKeyId].RoleArn);
    }

    [Fact]
    public async Task ConnectionResetGivesTheClientATransportErrorAndNoResponse()
    {
        _sts.FailWith(StsFault.ConnectionReset);

        var error = await Record.ExceptionAsync(() => AssumeAsync(RoleArn));

        // The SDK wraps nothing here: it unwraps HttpClient's HttpRequestException and the caller gets the IOException
        // "Unable to read data from the transport connection: Connection reset by peer", not an AmazonServiceException.
        var transport = Assert.IsType<IOException>(error);
        Assert.Equal(
            System.Net.Sockets.SocketError.ConnectionReset,
            Assert.IsType<System.Net.Sockets.SocketException>(transport.InnerException).SocketErrorCode);

        // Even with MaxErrorRetry = 0 the v4 SDK (Standard retry mode) resends a request whose connection was reset,
        // 10 more times at once: STS sees 11 AssumeRole calls for one logical call (MaxErrorRetry + 11 in general).
        Assert.Equal(11, _sts.Calls.Count);
        Assert.All(_sts.Calls, call => Assert.Null(call.AccessKeyIdIssued));
    }

    [Fact]
    public async Task AFaultForOneRoleLeavesOtherRolesAloneUntilHealed()
    {
        _sts.FailWith(StsFault.AccessDenied, RoleArn);

        await Assert.ThrowsAsync<AmazonSecurityTokenServiceException>(() => AssumeAsync(RoleArn));
        var other = await AssumeAsync(OtherRoleArn);
        _sts.Heal();
        var healed = await AssumeAsync(RoleArn);

        Assert.Equal(OtherRoleArn, _sts.Issued[other.Credentials.AccessKeyId].RoleArn);
        Assert.Equal(RoleArn, _sts.Issued[healed.Credentials.AccessKeyId].RoleArn);
    }

    [Theory]
    [InlineData("default/app:x", "Member must satisfy regular expression pattern")]
    [InlineData("x", "Member must have length greater than or equal to 2")]
    public async Task InvalidSessionNameIsAValidationErrorAsStsGivesIt(string sessionName, string constraint)
    {
        // Through a parameter: the SDK's own analyzer rejects such a literal at build time.
        var error = await Assert.ThrowsAsync<AmazonSecurityTokenServiceException>(() =>
            _client.AssumeRoleAsync(new AssumeRoleRequest { RoleArn = RoleArn, RoleSessionName = sessionName }));

        Assert.Equal("ValidationError", error.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Contains($"Value '{sessionName}' at 'roleSessionName' failed to satisfy constraint: {constraint}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForCallsResolvesWhenTheCallsArrive()
    {
        var waiting = _sts.WaitForCallsAsync(2, TimeSpan.FromSeconds(10));
        Assert.False(waiting.IsCompleted);

        await AssumeAsync(RoleArn);
        await AssumeAsync(OtherRoleArn);

        await waiting;
        await Assert.ThrowsAsync<TimeoutException>(() => _sts.WaitForCallsAsync(3, TimeSpan.FromMilliseconds(50)));
    }

    private Task<AssumeRoleResponse> AssumeAsync(string roleArn) =>
        _client.AssumeRoleAsync(new AssumeRoleRequest { RoleArn = roleArn, RoleSessionName = "ns@sa", DurationSeconds = 3600 });
}
