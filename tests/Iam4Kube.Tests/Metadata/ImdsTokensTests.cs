using System.Net;
using Iam4Kube.Metadata;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.Metadata;

public sealed class ImdsTokensTests
{
    private static readonly IPAddress Pod = IPAddress.Parse("10.0.0.5");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero));
    private readonly ImdsTokens _tokens;

    public ImdsTokensTests() => _tokens = new ImdsTokens(ImdsTokens.LoadKey(null), _time);

    [Fact]
    public void AcceptsItsOwnTokenFromTheSameIpAndReturnsTheBoundPod()
    {
        var token = _tokens.Issue(Pod, "uid-1", 60);
        Assert.True(_tokens.TryValidate(token, Pod, out var uid));
        Assert.Equal("uid-1", uid);
    }

    [Fact]
    public void RejectsATokenFromAnotherIp()
    {
        var token = _tokens.Issue(Pod, "uid-1", 60);
        Assert.False(_tokens.TryValidate(token, IPAddress.Parse("10.0.0.6"), out _));
    }

    [Fact]
    public void RejectsAnExpiredToken()
    {
        var token = _tokens.Issue(Pod, null, 60);
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.False(_tokens.TryValidate(token, Pod, out _));
    }

    [Fact]
    public void RejectsTokensSignedWithAnotherKeyAndTamperedOnes()
    {
        var foreign = new ImdsTokens(ImdsTokens.LoadKey(null), _time).Issue(Pod, null, 60);
        Assert.False(_tokens.TryValidate(foreign, Pod, out _));

        var token = _tokens.Issue(Pod, "uid-1", 60).ToCharArray();
        token[5] = token[5] == 'A' ? 'B' : 'A';
        Assert.False(_tokens.TryValidate(new string(token), Pod, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("AAAA")]
    [InlineData("!!!!****")]
    public void RejectsGarbage(string token)
    {
        Assert.False(_tokens.TryValidate(token, Pod, out _));
    }

    [Fact]
    public void RejectsHugeTokensWithoutWork()
    {
        Assert.False(_tokens.TryValidate(new string('A', 100_000), Pod, out _));
    }

    [Fact]
    public void ReplicasSharingAKeyFileAcceptEachOthersTokens()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "a shared secret of enough length");
            var one = new ImdsTokens(ImdsTokens.LoadKey(file), _time);
            var two = new ImdsTokens(ImdsTokens.LoadKey(file), _time);
            Assert.True(two.TryValidate(one.Issue(Pod, null, 60), Pod, out var uid));
            Assert.Equal("", uid);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void WorksForIpv6Callers()
    {
        var ip = IPAddress.Parse("fd00::1234");
        Assert.True(_tokens.TryValidate(_tokens.Issue(ip, "u", 10), ip, out _));
        Assert.False(_tokens.TryValidate(_tokens.Issue(ip, "u", 10), Pod, out _));
    }

    [Fact]
    public void ATokenIssuedToADualStackPodsIpv4AddressIsRefusedFromItsIpv6AddressAndTheOtherWayRound()
    {
        // One pod, two addresses (status.podIPs): a token is bound to the address it was issued to, not to the pod.
        var v4 = IPAddress.Parse("10.0.0.5");
        var v6 = IPAddress.Parse("fd00::5");
        var fromV4 = _tokens.Issue(v4, "uid-dual", 60);
        var fromV6 = _tokens.Issue(v6, "uid-dual", 60);

        Assert.False(_tokens.TryValidate(fromV4, v6, out _));
        Assert.False(_tokens.TryValidate(fromV6, v4, out _));
        Assert.False(_tokens.TryValidate(fromV4, IPAddress.Parse("::ffff:10.0.0.6"), out _));
        Assert.True(_tokens.TryValidate(fromV6, v6, out var uid));
        Assert.Equal("uid-dual", uid);
    }
}
