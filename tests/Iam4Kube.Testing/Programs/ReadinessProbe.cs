using System.Net;
using Iam4Kube.Testing.Networking;

namespace Iam4Kube.Testing.Programs;

/// <summary>Waits for a program's /readyz the way a kubelet probe does: asking again until it answers 200.</summary>
public static class ReadinessProbe
{
    /// <summary>Asks <paramref name="readyz"/> every <paramref name="pollEvery"/> (100 ms unless told) until it answers 200.</summary>
    public static async Task WaitUntilReadyAsync(
        BackgroundProcess process, Uri readyz, TimeSpan timeout, string name = "iam4kube", TimeSpan? pollEvery = null)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited before it was ready.\n--- output ---\n{process.Output}");
            }

            try
            {
                using var response = await client.GetAsync(readyz);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(pollEvery ?? TimeSpan.FromMilliseconds(100));
        }

        throw new TimeoutException($"{name} was not ready within {timeout} (last /readyz: {last}).\n--- output ---\n{process.Output}");
    }
}
