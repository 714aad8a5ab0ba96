namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// A <c>fieldSelector</c> query parameter: <c>field=value</c>, <c>field==value</c> and <c>field!=value</c>, over the
/// field labels kube-apiserver supports for the kind (any other is a 400, as there).
/// </summary>
internal sealed class FieldSelector
{
    private readonly IReadOnlyList<(Func<object, string?> Get, bool Equal, string Value)> _requirements;

    private FieldSelector(IReadOnlyList<(Func<object, string?> Get, bool Equal, string Value)> requirements) =>
        _requirements = requirements;

    public static FieldSelector? Parse(string? selector, ResourceKind kind)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return null;
        }

        var requirements = new List<(Func<object, string?>, bool, string)>();
        foreach (var raw in selector.Split(','))
        {
            var part = raw.Trim();
            var (at, length, equal) = part.IndexOf("!=", StringComparison.Ordinal) is var ne and >= 0
                ? (ne, 2, false)
                : part.IndexOf("==", StringComparison.Ordinal) is var ee and >= 0
                    ? (ee, 2, true)
                    : (part.IndexOf('=', StringComparison.Ordinal), 1, true);
            if (at <= 0)
            {
                throw ApiStatusException.BadRequest($"invalid selector: '{selector}'; can't understand '{part}'");
            }

            var field = part[..at].Trim();
            if (!kind.TryGetField(field, out var getter))
            {
                throw ApiStatusException.BadRequest($"field label not supported: {field}");
            }

            requirements.Add((getter, equal, part[(at + length)..].Trim()));
        }

        return new FieldSelector(requirements);
    }

    public bool Matches(object value)
    {
        foreach (var (get, equal, expected) in _requirements)
        {
            if (string.Equals(get(value) ?? string.Empty, expected, StringComparison.Ordinal) != equal)
            {
                return false;
            }
        }

        return true;
    }
}
