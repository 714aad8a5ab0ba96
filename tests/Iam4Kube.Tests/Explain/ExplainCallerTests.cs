using System.Net;
using Iam4Kube.Explain;

namespace Iam4Kube.Tests.Explain;

/// <summary>/debug/explain tells every pod's role and access key id: only the replica itself may ask.</summary>
public sealed class ExplainCallerTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.30.1")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public void LoopbackCallersMayAsk(string caller) => Assert.True(ExplainApi.MayAsk(IPAddress.Parse(caller)));

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("169.254.169.254")]
    [InlineData("fd00:ec2::23")]
    [InlineData("::ffff:10.1.2.3")]
    public void PodsReachingTheMetricsPortThroughTheServiceMayNot(string caller) => Assert.False(ExplainApi.MayAsk(IPAddress.Parse(caller)));

    [Fact]
    public void AnUnknownCallerMayNot() => Assert.False(ExplainApi.MayAsk(null));
}
