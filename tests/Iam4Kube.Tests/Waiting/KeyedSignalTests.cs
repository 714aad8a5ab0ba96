using Iam4Kube.Waiting;

namespace Iam4Kube.Tests.Waiting;

public sealed class KeyedSignalTests
{
    [Fact]
    public void PulseWakesOnlyWaitersOfThatKey()
    {
        var signal = new KeyedSignal<string>();
        using var a = signal.Subscribe("a");
        using var b = signal.Subscribe("b");

        signal.Pulse("a");

        Assert.True(a.Changed.IsCompletedSuccessfully);
        Assert.False(b.Changed.IsCompleted);
    }

    [Fact]
    public void ASubscriptionTakenAfterAPulseWaitsForTheNextOne()
    {
        var signal = new KeyedSignal<string>();
        signal.Pulse("a");
        using var a = signal.Subscribe("a");
        Assert.False(a.Changed.IsCompleted);
        signal.Pulse("a");
        Assert.True(a.Changed.IsCompleted);
    }

    [Fact]
    public void ReleasedWaitersLeaveNothingBehind()
    {
        var signal = new KeyedSignal<int>();
        var subscriptions = Enumerable.Range(0, 1000).Select(signal.Subscribe).ToList();
        Assert.Equal(1000, signal.WaitedKeys);

        subscriptions.ForEach(s => s.Dispose());
        Assert.Equal(0, signal.WaitedKeys);
    }

    [Fact]
    public void DisposingTwiceReleasesOnce()
    {
        var signal = new KeyedSignal<string>();
        var first = signal.Subscribe("k");
        using var second = signal.Subscribe("k");
        first.Dispose();
        first.Dispose();
        Assert.Equal(1, signal.WaitedKeys);
    }

    [Fact]
    public void PulseAllWakesEveryone()
    {
        var signal = new KeyedSignal<string>();
        using var a = signal.Subscribe("a");
        using var b = signal.Subscribe("b");
        signal.PulseAll();
        Assert.True(a.Changed.IsCompleted && b.Changed.IsCompleted);
    }

    [Fact]
    public void ParkedBudgetRefusesBeyondItsLimitAndRecovers()
    {
        var budget = new ParkedRequestBudget(2);
        Assert.True(budget.TryEnter());
        Assert.True(budget.TryEnter());
        Assert.False(budget.TryEnter());
        budget.Leave();
        Assert.True(budget.TryEnter());
        Assert.Equal(2, budget.Parked);
    }
}
