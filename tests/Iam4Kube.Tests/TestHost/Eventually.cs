namespace Iam4Kube.Tests.TestHost;

/// <summary>
/// Test-side waiting for a condition observed from outside the process under test (an HTTP endpoint, a child
/// process). Product code never does this; it waits on events.
/// </summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(failure);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25));
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string failure) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, failure);
}
