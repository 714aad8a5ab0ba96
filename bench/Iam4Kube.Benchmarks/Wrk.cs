using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Iam4Kube.Benchmarks;

/// <summary>One closed-loop run of wrk (Debian package) and what it printed.</summary>
internal sealed partial record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Errors)
{
    /// <summary>How many requests completed (wrk's "N requests in" line).</summary>
    public long Requests { get; init; }

    /// <summary>wrk on <paramref name="url"/>; <paramref name="headers"/> as "Name: value" (wrk -H; a Host header replaces the URL's).</summary>
    public static async Task<WrkResult> RunAsync(Uri url, int threads, int connections, TimeSpan duration, IReadOnlyList<string>? headers = null)
    {
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var header in headers ?? [])
        {
            info.ArgumentList.Add("-H");
            info.ArgumentList.Add(header);
        }

        foreach (var arg in new[] { "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                     "-d", $"{(int)duration.TotalSeconds}s", "--latency", url.ToString() })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("wrk did not start");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var rps = double.Parse(RequestsPerSecondLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var errors = NonSuccessLine().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var requests = long.Parse(RequestsLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        return new WrkResult(rps, LatencyMs(output, "50%"), LatencyMs(output, "99%"), errors) { Requests = requests };
    }

    private static double LatencyMs(string output, string percentile)
    {
        var match = Regex.Match(output, $@"^\s*{Regex.Escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecondLine();

    [GeneratedRegex(@"(\d+) requests in ")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccessLine();
}
