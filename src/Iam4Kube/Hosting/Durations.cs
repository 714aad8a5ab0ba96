using System.Globalization;

namespace Iam4Kube.Hosting;

/// <summary>Go-style durations, as Kubernetes users write them: 1h, 15m, 30s, 250ms, 1h30m.</summary>
internal static class Durations
{
    public static TimeSpan Parse(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw new FormatException("expected a duration such as 15s, 1h or 1h30m");
        }

        if (text == "0")
        {
            return TimeSpan.Zero;
        }

        var total = TimeSpan.Zero;
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            var digits = 0;
            while (digits < rest.Length && (char.IsAsciiDigit(rest[digits]) || rest[digits] == '.'))
            {
                digits++;
            }

            var unitLength = 0;
            while (digits + unitLength < rest.Length && char.IsAsciiLetter(rest[digits + unitLength]))
            {
                unitLength++;
            }

            if (digits == 0 || unitLength == 0
                || !double.TryParse(rest[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                throw new FormatException("expected a duration such as 15s, 1h or 1h30m");
            }

            total += rest.Slice(digits, unitLength) switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                _ => throw new FormatException("units are h, m, s and ms"),
            };
            rest = rest[(digits + unitLength)..];
        }

        return total;
    }
}
