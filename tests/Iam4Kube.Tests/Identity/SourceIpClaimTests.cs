using System.Net;
using Iam4Kube.Identity;
using Iam4Kube.Outcomes;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;

namespace Iam4Kube.Tests.Identity;

/// <summary>The identity stage on its own: a source IP (and an IMDSv2 token's pod binding) becomes a pod or a refusal.</summary>
public sealed class SourceIpClaimTests
{
    private static readonly IPAddress Ip = IPAddress.Parse("10.1.2.3");
    private readonly PodIndex _pods = new();

    private SourceIpIdentity Identity => new(_pods);

    [Fact]
    public void TheOnlyLivePodOnTheIpIsTheCaller()
    {
        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-a", "web", "10.1.2.3", "writer", uid: "uid-web"))!);

        var caller = Identity.Claim(Ip, "").Identify();

        Assert.True(caller.IsIdentified);
        Assert.Equal(new NamespacedName("team-a", "writer"), caller.Pod!.ServiceAccountName);
    }

    [Fact]
    public void AnIpNoPodOwnsIsUnknownAndMayStillAppear()
    {
        var caller = Identity.Claim(Ip, "").Identify();

        Assert.Same(Outcome.PodUnknown, caller.Outcome);
        Assert.False(caller.Outcome.IsFinal);
        Assert.Null(caller.Pod);
        Assert.Contains("10.1.2.3", caller.Detail);
    }

    [Fact]
    public void TwoLivePodsOnOneIpIdentifyNobody()
    {
        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-a", "old", "10.1.2.3", uid: "uid-old"))!);
        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-b", "new", "10.1.2.3", uid: "uid-new"))!);

        var caller = Identity.Claim(Ip, "").Identify();

        Assert.Same(Outcome.PodAmbiguous, caller.Outcome);
        Assert.Null(caller.Pod);
    }

    [Fact]
    public void ATokenBoundToThePodStillIdentifiesIt()
    {
        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-a", "web", "10.1.2.3", uid: "uid-web"))!);

        Assert.True(Identity.Claim(Ip, "uid-web").Identify().IsIdentified);
    }

    [Fact]
    public void ATokenBoundToThePreviousOwnerOfTheIpIsRefusedForGood()
    {
        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-b", "new-owner", "10.1.2.3", uid: "uid-new"))!);

        var caller = Identity.Claim(Ip, "uid-old").Identify();

        Assert.Same(Outcome.TokenRejected, caller.Outcome);
        Assert.True(caller.Outcome.IsFinal);
        Assert.Equal("new-owner", caller.Pod!.Name.Name);
    }

    [Fact]
    public void OwnerUidNamesOnlyASingleLiveOwner()
    {
        Assert.Null(Identity.OwnerUid(Ip));
        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-a", "web", "10.1.2.3", uid: "uid-web"))!);
        Assert.Equal("uid-web", Identity.OwnerUid(Ip));
        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-b", "other", "10.1.2.3", uid: "uid-other"))!);
        Assert.Null(Identity.OwnerUid(Ip));
    }

    [Fact]
    public async Task WatchingWakesWhenThePodArrives()
    {
        var claim = Identity.Claim(Ip, "");
        using var watch = claim.WatchForChange(out var changed);
        Assert.False(changed.IsCompleted);

        _pods.Upsert(PodInfo.FromPod(KubeObjects.Pod("team-a", "web", "10.1.2.3"))!);

        await changed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(claim.Identify().IsIdentified);
    }
}
