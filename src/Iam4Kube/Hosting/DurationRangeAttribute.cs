using System.ComponentModel.DataAnnotations;

namespace Iam4Kube.Hosting;

/// <summary>
/// A <see cref="TimeSpan"/> option's bounds, inclusive. <c>[Range(typeof(TimeSpan), min, max)]</c> converts its bounds
/// through a TypeConverter found by reflection, which NativeAOT cannot guarantee (IL2026); these bounds are parsed
/// once with <see cref="TimeSpan.Parse(string, IFormatProvider)"/>. <see cref="Iam4KubeOptionsValidator"/> words the
/// message (it names the flag), as for <see cref="RangeAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class DurationRangeAttribute(string minimum, string maximum) : ValidationAttribute
{
    public TimeSpan Minimum { get; } = TimeSpan.Parse(minimum, System.Globalization.CultureInfo.InvariantCulture);

    public TimeSpan Maximum { get; } = TimeSpan.Parse(maximum, System.Globalization.CultureInfo.InvariantCulture);

    public override bool IsValid(object? value) => value is not TimeSpan span || (span >= Minimum && span <= Maximum);
}
