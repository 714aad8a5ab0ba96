using System.Globalization;

namespace Iam4Kube.Benchmarks;

internal static class Format
{
    public static string Ms(double milliseconds) => milliseconds.ToString(milliseconds < 10 ? "0.000" : "0.0", CultureInfo.InvariantCulture) + " ms";

    public static string Num(double value, string format = "0") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string Ratio(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);
}
