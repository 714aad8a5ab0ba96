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

    /// <summary>Waits until <paramref name="condition"/> holds; after <paramref name="timeout"/>, fails with <paramref name="failure"/>.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        if (!await ObserveAsync(condition, held => held, timeout))
        {
            throw new TimeoutException(failure);
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string failure) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, failure);
}
