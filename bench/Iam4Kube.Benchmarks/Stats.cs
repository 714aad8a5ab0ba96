namespace Iam4Kube.Benchmarks;

/// <summary>Medians and percentiles over repeated measurements.</summary>
internal static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Nearest-rank percentile of already sorted values.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>The largest number of instants that fall in any window of <paramref name="window"/>.</summary>
    public static int MaxInWindow(IEnumerable<DateTimeOffset> instants, TimeSpan window)
    {
        var sorted = instants.Order().ToArray();
        var max = 0;
        var start = 0;
        for (var end = 0; end < sorted.Length; end++)
        {
            while (sorted[end] - sorted[start] >= window)
            {
                start++;
            }

            max = Math.Max(max, end - start + 1);
        }

        return max;
    }
}
