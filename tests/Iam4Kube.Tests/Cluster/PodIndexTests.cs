using System.Net;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Builders;
using k8s.Models;

namespace Iam4Kube.Tests.Cluster;

public sealed class PodIndexTests
{
    private static readonly IPAddress Ip = IPAddress.Parse("10.1.2.3");

    private static PodInfo Info(V1Pod pod) => PodInfo.FromPod(pod)!;

    [Fact]
    public void FindsARunningPodByItsIp()
    {
        var index = new PodIndex();
        var pod = Info(KubeObjects.Pod("ns", "a", "10.1.2.3", "sa"));
        index.Upsert(pod);

        var lookup = index.Lookup(Ip);
        Assert.Equal(PodLookupResult.Found, lookup.Result);
        Assert.Equal(new NamespacedName("ns", "sa"), lookup.Pod!.ServiceAccountName);
    }

    [Theory]
    [InlineData("Succeeded")]
    [InlineData("Failed")]
    public void FinishedPodsNeverMatch(string phase)
    {
        var index = new PodIndex();
        index.Upsert(Info(KubeObjects.Pod("ns", "a", "10.1.2.3", phase: phase)));
        Assert.Equal(PodLookupResult.Missing, index.Lookup(Ip).Result);
        Assert.Equal($"finished ({phase}): its IP is free for reuse", index.Find(new NamespacedName("ns", "a"))!.Unclaimed);
    }

    [Fact]
    public void HostNetworkPodsNeverMatch()
    {
        var index = new PodIndex();
        index.Upsert(Info(KubeObjects.Pod("ns", "a", "10.1.2.3", hostNetwork: true)));
        Assert.Equal(PodLookupResult.Missing, index.Lookup(Ip).Result);
        Assert.StartsWith("hostNetwork", index.Find(new NamespacedName("ns", "a"))!.Unclaimed, StringComparison.Ordinal);
    }

    [Fact]
    public void NamesEveryClaimantOfAnAmbiguousIp()
    {
        var index = new PodIndex();
        index.Upsert(Info(KubeObjects.Pod("ns", "a", "10.1.2.3", uid: "uid-a")));
        index.Upsert(Info(KubeObjects.Pod("ns", "b", "10.1.2.3", uid: "uid-b")));
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
        Assert.Equal(["uid-a", "uid-b"], index.Claimants(Ip).Select(p => p.Uid).Order());
        Assert.Null(index.Find(new NamespacedName("ns", "a"))!.Unclaimed);
    }

    [Fact]
    public void PodsBeingDeletedKeepTheirIpWhileNoOtherPodClaimsIt()
    {
        var index = new PodIndex();
        var pod = KubeObjects.Pod("ns", "a", "10.1.2.3", uid: "uid-a");
        index.Upsert(Info(pod));
        pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
        index.Upsert(Info(pod));

        var lookup = index.Lookup(Ip);
        Assert.Equal(PodLookupResult.Found, lookup.Result);
        Assert.True(lookup.Pod!.Terminating);
        Assert.Equal("uid-a", lookup.Pod.Uid);
        Assert.False(index.RelistRequested.TryConsume());
    }

    [Fact]
    public void ANewPodBesideOneBeingDeletedAnswersNothingUntilTheOldOnesDeleteWithoutAskingForAList()
    {
        var index = new PodIndex();
        var old = KubeObjects.Pod("ns1", "old", "10.1.2.3", uid: "uid-old");
        old.Metadata.DeletionTimestamp = DateTime.UtcNow;
        index.Upsert(Info(old));
        index.Upsert(Info(KubeObjects.Pod("ns2", "new", "10.1.2.3", uid: "uid-new")));
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
        Assert.False(index.RelistRequested.TryConsume());

        index.Remove("uid-old");
        var lookup = index.Lookup(Ip);
        Assert.Equal(PodLookupResult.Found, lookup.Result);
        Assert.Equal("uid-new", lookup.Pod!.Uid);
        Assert.False(index.Confirmations.TryRead(out _));
    }

    [Fact]
    public void AListWithAPodBeingDeletedAndANewOneOnOneIpAnswersNothingUntilTheOldOneGoes()
    {
        var index = new PodIndex();
        var old = KubeObjects.Pod("ns1", "old", "10.1.2.3", uid: "uid-old");
        old.Metadata.DeletionTimestamp = DateTime.UtcNow;
        index.ReplaceAll([Info(old), Info(KubeObjects.Pod("ns2", "new", "10.1.2.3", uid: "uid-new"))]);
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);

        index.Remove("uid-old");
        Assert.Equal("uid-new", index.Lookup(Ip).Pod?.Uid);
    }

    [Fact]
    public void TwoLivePodsStaySuspectWhenOneOfThemStartsTerminating()
    {
        var index = new PodIndex();
        var stale = KubeObjects.Pod("ns1", "stale", "10.1.2.3", uid: "uid-stale");
        index.Upsert(Info(stale));
        index.Upsert(Info(KubeObjects.Pod("ns2", "new", "10.1.2.3", uid: "uid-new")));
        stale.Metadata.DeletionTimestamp = DateTime.UtcNow;
        index.Upsert(Info(stale));
        index.Remove("uid-stale");

        // Suspicion came first: only the API server can say the survivor is real.
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
        Assert.True(index.Confirmations.TryRead(out var confirmation));
        Assert.Equal("uid-new", confirmation.Claimant.Uid);
    }

    [Fact]
    public void PodsWithoutIpNeverMatchAndGainItLater()
    {
        var index = new PodIndex();
        var pod = KubeObjects.Pod("ns", "a", null);
        index.Upsert(Info(pod));
        Assert.Equal(PodLookupResult.Missing, index.Lookup(Ip).Result);

        pod.Status.PodIP = "10.1.2.3";
        pod.Status.PodIPs = [new V1PodIP { Ip = "10.1.2.3" }];
        index.Upsert(Info(pod));
        Assert.Equal(PodLookupResult.Found, index.Lookup(Ip).Result);
    }

    [Fact]
    public void TwoLivePodsOnOneIpStayAmbiguousUntilAListSettlesIt()
    {
        var index = new PodIndex();
        var stale = Info(KubeObjects.Pod("ns1", "stale", "10.1.2.3"));
        var reuser = Info(KubeObjects.Pod("ns2", "new", "10.1.2.3"));
        index.Upsert(stale);
        Assert.False(index.RelistRequested.TryConsume());
        index.Upsert(reuser);
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
        Assert.True(index.RelistRequested.TryConsume());

        // The newer pod leaves: the survivor may be the stale one, so still nothing is answered, and the API server
        // is asked about the survivor at once...
        index.Remove(reuser.Uid);
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
        Assert.True(index.Confirmations.TryRead(out var confirmation));
        Assert.Equal(stale.Uid, confirmation.Claimant.Uid);

        // ...until a list says who owns the IP.
        var third = Info(KubeObjects.Pod("ns3", "third", "10.1.2.3"));
        index.ReplaceAll([third]);
        var lookup = index.Lookup(Ip);
        Assert.Equal(PodLookupResult.Found, lookup.Result);
        Assert.Equal("third", lookup.Pod!.Name.Name);
    }

    [Fact]
    public void AListWithTwoLivePodsOnOneIpIsAmbiguousWithoutAskingForAnotherList()
    {
        var index = new PodIndex();
        index.ReplaceAll([Info(KubeObjects.Pod("a", "one", "10.1.2.3")), Info(KubeObjects.Pod("b", "two", "10.1.2.3"))]);
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
        Assert.False(index.RelistRequested.TryConsume());
    }

    [Fact]
    public void AClaimantLeavingAListConfirmedAmbiguityAsksForTheListThatSettlesIt()
    {
        var index = new PodIndex();
        var stale = Info(KubeObjects.Pod("a", "one", "10.1.2.3"));
        var owner = Info(KubeObjects.Pod("b", "two", "10.1.2.3"));
        index.ReplaceAll([stale, owner]);
        Assert.False(index.RelistRequested.TryConsume());

        index.Remove(stale.Uid);
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
        Assert.True(index.Confirmations.TryRead(out var confirmation));
        Assert.Equal(owner.Uid, confirmation.Claimant.Uid);

        // The API server says the survivor is there, with that IP: it is the owner.
        index.Confirm(confirmation, owner);
        Assert.Equal("two", index.Lookup(Ip).Pod!.Name.Name);
        Assert.False(index.RelistRequested.TryConsume());
    }

    [Fact]
    public void ASurvivorTheApiServerNoLongerHasWasTheStaleClaimAndLeaves()
    {
        var index = new PodIndex();
        var stale = Info(KubeObjects.Pod("a", "one", "10.1.2.3"));
        var reuser = Info(KubeObjects.Pod("b", "two", "10.1.2.3"));
        index.Upsert(stale);
        index.Upsert(reuser);
        index.Remove(reuser.Uid);
        Assert.True(index.Confirmations.TryRead(out var confirmation));

        index.Confirm(confirmation, null);
        Assert.Equal(PodLookupResult.Missing, index.Lookup(Ip).Result);
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void AnAnswerAboutASurvivorThatChangedMeanwhileIsIgnored()
    {
        var index = new PodIndex();
        var a = Info(KubeObjects.Pod("a", "one", "10.1.2.3"));
        var b = Info(KubeObjects.Pod("b", "two", "10.1.2.3"));
        index.Upsert(a);
        index.Upsert(b);
        index.Remove(b.Uid);
        Assert.True(index.Confirmations.TryRead(out var confirmation));
        var c = Info(KubeObjects.Pod("c", "three", "10.1.2.3"));
        index.Upsert(c);

        index.Confirm(confirmation, a);
        Assert.Equal(PodLookupResult.Ambiguous, index.Lookup(Ip).Result);
    }

    [Fact]
    public void ASuspectIpWithNoClaimLeftIsSimplyUnknown()
    {
        var index = new PodIndex();
        var a = Info(KubeObjects.Pod("a", "one", "10.1.2.3"));
        var b = Info(KubeObjects.Pod("b", "two", "10.1.2.3"));
        index.Upsert(a);
        index.Upsert(b);
        index.Remove(a.Uid);
        index.Remove(b.Uid);
        // No claim left, nothing to guess between: unknown, which answers nothing.
        Assert.Equal(PodLookupResult.Missing, index.Lookup(Ip).Result);
        index.ReplaceAll([]);
        Assert.Equal(PodLookupResult.Missing, index.Lookup(Ip).Result);
    }

    [Fact]
    public void ReplaceAllDropsPodsWhoseDeleteWasMissed()
    {
        var index = new PodIndex();
        var gone = Info(KubeObjects.Pod("ns", "gone", "10.1.2.3"));
        var stays = Info(KubeObjects.Pod("ns", "stays", "10.1.2.4"));
        index.Upsert(gone);
        index.Upsert(stays);

        var reuser = Info(KubeObjects.Pod("other", "reuser", "10.1.2.3"));
        index.ReplaceAll([stays, reuser]);

        Assert.Equal("reuser", index.Lookup(Ip).Pod!.Name.Name);
        Assert.Equal("stays", index.Lookup(IPAddress.Parse("10.1.2.4")).Pod!.Name.Name);
        Assert.Equal(2, index.Count);
    }

    [Fact]
    public void IndexesEveryIpOfADualStackPod()
    {
        var pod = KubeObjects.Pod("ns", "a", "10.1.2.3");
        pod.Status.PodIPs = [new V1PodIP { Ip = "10.1.2.3" }, new V1PodIP { Ip = "fd00::3" }];
        var index = new PodIndex();
        index.Upsert(Info(pod));
        Assert.Equal(PodLookupResult.Found, index.Lookup(IPAddress.Parse("fd00::3")).Result);
        Assert.Equal(PodLookupResult.Found, index.Lookup(Ip).Result);
    }

    [Fact]
    public void IpChangeMovesThePodAndWakesWaitersOnBothIps()
    {
        var index = new PodIndex();
        var pod = KubeObjects.Pod("ns", "a", "10.1.2.3");
        index.Upsert(Info(pod));
        using var oldIp = index.Changed.Subscribe(Ip);
        using var newIp = index.Changed.Subscribe(IPAddress.Parse("10.9.9.9"));

        pod.Status.PodIP = "10.9.9.9";
        pod.Status.PodIPs = [new V1PodIP { Ip = "10.9.9.9" }];
        index.Upsert(Info(pod));

        Assert.True(oldIp.Changed.IsCompleted);
        Assert.True(newIp.Changed.IsCompleted);
        Assert.Equal(PodLookupResult.Missing, index.Lookup(Ip).Result);
    }

    [Fact]
    public void IPv4MappedAddressesAreNormalized()
    {
        Assert.Equal(Ip, PodInfo.Normalize(Ip.MapToIPv6()));
    }
}
