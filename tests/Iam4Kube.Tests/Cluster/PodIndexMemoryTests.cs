using System.Net;
using Iam4Kube.Stores;
using Xunit.Abstractions;

namespace Iam4Kube.Tests.Cluster;

/// <summary>
/// What the view costs per pod, for the memory budget in docs/operations.md ("Memory and connections"): 100,000
/// pods with realistic names, uids and IPs, measured as the bytes allocated to build and index them (an upper
/// bound of what stays: it includes the garbage of growing the dictionaries).
/// </summary>
public sealed class PodIndexMemoryTests(ITestOutputHelper output)
{
    private const int Pods = 100_000;

    /// <summary>The budget docs/operations.md counts on, per pod.</summary>
    private const int BudgetBytesPerPod = 1_536;

    [Fact]
    public void AHundredThousandPodsFitTheBudgetTheOperationsGuideCountsOn()
    {
        using var index = new PodIndex();
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        index.ReplaceAll(Enumerable.Range(0, Pods).Select(RealisticPod));

        var perPod = (GC.GetAllocatedBytesForCurrentThread() - allocated) / Pods;
        output.WriteLine($"{perPod} bytes per pod, {perPod * Pods / (1 << 20)} MiB for {Pods:N0} pods");
        Assert.Equal(Pods, index.Count);
        Assert.True(perPod < BudgetBytesPerPod, $"{perPod} bytes per pod");
    }

    [Fact]
    public void WatchEventsForAHundredThousandPodsFitTheSameBudget()
    {
        using var index = new PodIndex();
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        for (var i = 0; i < Pods; i++)
        {
            index.Upsert(RealisticPod(i));
        }

        var perPod = (GC.GetAllocatedBytesForCurrentThread() - allocated) / Pods;
        output.WriteLine($"{perPod} bytes per pod");
        Assert.True(perPod < BudgetBytesPerPod, $"{perPod} bytes per pod");
    }

    /// <summary>As a ReplicaSet names its pods, with a uid and a node name as EKS writes them.</summary>
    private static PodInfo RealisticPod(int i) => new(
        new NamespacedName($"team-{i % 200:D3}", $"service-{i % 5_000:D4}-7d9f8b6c5d-{i:x5}"),
        Guid.NewGuid().ToString(),
        $"service-{i % 2_000:D4}",
        $"ip-10-0-{i / 250 % 256}-{i % 250}.eu-west-1.compute.internal",
        [new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i])]);
}
