namespace Iam4Kube.Testing;

/// <summary>
/// Bounded waiting for state that settles asynchronously (the kernel tears a network namespace down on a work
/// queue after <c>ip netns del</c> returns, for example): observe until the condition holds or the time is up, and
/// hand back the last observation for the test to assert on, so that a failure still shows what was seen.
/// </summary>
public static class Eventually
{
    public static async Task<T> ObserveAsync<T>(Func<Task<T>> observe, Func<T, bool> settled, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var observed = await observe();
            if (settled(observed) || DateTime.UtcNow >= deadline)
            {
                return observed;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }
}
