using System.Globalization;

namespace Iam4Kube.Benchmarks;

/// <summary>Just enough of the Prometheus text format to read one counter or one histogram's buckets.</summary>
internal static class PrometheusText
{
    public static async Task<string> ScrapeAsync(HttpClient admin) => await admin.GetStringAsync("/metrics");

    /// <summary>Sum of every sample of <paramref name="name"/> whose labels contain <paramref name="labelFilter"/>.</summary>
    public static double Value(string text, string name, string labelFilter = "")
    {
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && (line.Length > name.Length && line[name.Length] is '{' or ' ')
                && line.Contains(labelFilter, StringComparison.Ordinal))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    /// <summary>Cumulative bucket counts (le → count) of a histogram, for the series matching <paramref name="labelFilter"/>.</summary>
    public static SortedDictionary<double, double> Buckets(string text, string histogram, string labelFilter)
    {
        var buckets = new SortedDictionary<double, double>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(histogram + "_bucket{", StringComparison.Ordinal) || !line.Contains(labelFilter, StringComparison.Ordinal))
            {
                continue;
            }

            var leStart = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
            var le = line[leStart..line.IndexOf('"', leStart)];
            var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
            buckets[bound] = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }

        return buckets;
    }

    /// <summary>
    /// The quantile of the observations made between two scrapes, interpolated linearly inside its bucket (as
    /// Prometheus' histogram_quantile does). Returns the quantile in seconds and the count of observations.
    /// </summary>
    public static (double Seconds, double Count) QuantileOfDelta(SortedDictionary<double, double> before, SortedDictionary<double, double> after, double q)
    {
        var deltas = after.Select(b => (Le: b.Key, Count: b.Value - before.GetValueOrDefault(b.Key))).ToArray();
        var total = deltas.Length == 0 ? 0 : deltas[^1].Count;
        if (total <= 0)
        {
            return (double.NaN, 0);
        }

        var rank = q * total;
        double lowerBound = 0, lowerCount = 0;
        foreach (var (le, count) in deltas)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(le))
                {
                    return (lowerBound, total);
                }

                var inBucket = count - lowerCount;
                return (lowerBound + ((le - lowerBound) * (inBucket <= 0 ? 1 : (rank - lowerCount) / inBucket)), total);
            }

            lowerBound = le;
            lowerCount = count;
        }

        return (lowerBound, total);
    }
}
