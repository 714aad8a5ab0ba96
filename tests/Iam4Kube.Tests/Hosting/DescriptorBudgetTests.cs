using Iam4Kube.Hosting;

namespace Iam4Kube.Tests.Hosting;

public sealed class DescriptorBudgetTests
{
    [Fact]
    public void LeavesTheReserveAndTheAdminDoorOutOfTheOpenFileLimit()
    {
        Assert.Equal(1024 - 200 - DescriptorBudget.Reserve - ConnectionLimiter.AdminConnections, DescriptorBudget.ConnectionsAllowed(1024, openNow: 200));
        Assert.Equal(0, DescriptorBudget.ConnectionsAllowed(300, openNow: 200));
        Assert.Null(DescriptorBudget.ConnectionsAllowed(null, openNow: 200));
    }

    [Fact]
    public void ReadsThisProcesssOpenFileLimitAndOpenDescriptors()
    {
        var limit = DescriptorBudget.SoftLimit();

        Assert.NotNull(limit);
        Assert.InRange(DescriptorBudget.OpenNow(), 3, limit.Value);
    }
}
