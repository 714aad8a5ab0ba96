using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s.Models;

namespace Iam4Kube.Cluster;

/// <summary>
/// System.Text.Json's source-generated metadata of exactly what iam4kube reads from and writes to the API server
/// (<see cref="KubernetesCalls"/>): the four watched kinds and their lists, a Status, TokenReview, Event, Secret and
/// the two webhook configurations. KubernetesClient's own JSON (<c>k8s.KubernetesJson</c>) is not used: one use of it
/// compiles the metadata of every Kubernetes model (~700 types) into the NativeAOT binary (docs/benchmarks.md,
/// "Issue 15: iam4kube's own API client and JSON"). The models' own converters come with them (IntOrString and
/// quantities carry their <c>[JsonConverter]</c>); what KubernetesClient adds in its options, its timestamp format, is
/// <see cref="KubernetesTimeConverter"/>. Use the metadata through <see cref="ModelJson"/>, which also writes MicroTime
/// fields as kube-apiserver requires them.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(KubernetesTimeConverter)])]
[JsonSerializable(typeof(V1PodList))]
[JsonSerializable(typeof(V1Pod))]
[JsonSerializable(typeof(V1ServiceAccountList))]
[JsonSerializable(typeof(V1ServiceAccount))]
[JsonSerializable(typeof(V1NodeList))]
[JsonSerializable(typeof(V1Node))]
[JsonSerializable(typeof(V1NamespaceList))]
[JsonSerializable(typeof(V1Namespace))]
[JsonSerializable(typeof(V1Status))]
[JsonSerializable(typeof(V1TokenReview))]
[JsonSerializable(typeof(Corev1Event))]
[JsonSerializable(typeof(V1Secret))]
[JsonSerializable(typeof(V1MutatingWebhookConfiguration))]
[JsonSerializable(typeof(V1ValidatingWebhookConfiguration))]
// managedFields[].fieldsV1 is an object (read as a JsonElement): written back when a Secret read is replaced.
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

/// <summary>The metadata of <see cref="ApiJsonContext"/>, with the MicroTime fields of the Events iam4kube writes
/// given <see cref="MicroTimeConverter"/> (a model's property does not say whether it is a metav1.Time or a
/// metav1.MicroTime; both are <see cref="DateTime"/>).</summary>
internal static class ModelJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        TypeInfoResolver = ApiJsonContext.Default.WithAddedModifier(MicroTimeFields),
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new KubernetesTimeConverter() },
    };

    /// <summary>The metadata of <typeparamref name="T"/> (one of <see cref="ApiJsonContext"/>'s types).</summary>
    public static JsonTypeInfo<T> Info<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));

    // metav1.MicroTime fields of core/v1 Event (eventTime, series.lastObservedTime).
    private static void MicroTimeFields(JsonTypeInfo info)
    {
        if (info.Type != typeof(Corev1Event) && info.Type != typeof(Corev1EventSeries))
        {
            return;
        }

        foreach (var property in info.Properties)
        {
            if (property.Name is "eventTime" or "lastObservedTime" && property.PropertyType == typeof(DateTime?))
            {
                property.CustomConverter = MicroTimeConverter.Instance;
            }
        }
    }
}

/// <summary>
/// A metav1.Time as KubernetesClient 21 reads and writes it (its <c>KubernetesDateTimeConverter</c>, so that iam4kube
/// sends the bytes it sent before): written in UTC, as RFC 3339 with seconds (<c>2006-01-02T15:04:05Z</c>) or, when
/// the value has a fraction of a second, with exactly six fractional digits (kube-apiserver parses both and keeps
/// seconds); read from any RFC 3339 form (no fraction, micro or nanoseconds, an offset), as UTC.
/// </summary>
internal sealed class KubernetesTimeConverter : JsonConverter<DateTime>
{
    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadUtc(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options)
    {
        var utc = ((DateTimeOffset)value).ToUniversalTime();
        writer.WriteStringValue(utc.ToString(
            utc.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
    }

    /// <summary>An RFC 3339 time (up to 16 fractional digits, extra ones cut, as KubernetesClient cuts them) in UTC.</summary>
    internal static DateTime ReadUtc(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value))
        {
            return value.UtcDateTime;
        }

        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value)
            ? value.UtcDateTime
            : throw new JsonException($"not an RFC 3339 time: {(text is null ? reader.TokenType.ToString() : text.Length > 40 ? text[..40] : text)}");
    }
}

/// <summary>
/// A metav1.MicroTime: always six fractional digits (<c>2006-01-02T15:04:05.000000Z</c>), the layout kube-apiserver
/// parses it with; fewer or more (System.Text.Json's default writes up to seven, KubernetesClient none for a whole
/// second) are refused with 400 BadRequest.
/// </summary>
internal sealed class MicroTimeConverter : JsonConverter<DateTime?>
{
    public static readonly MicroTimeConverter Instance = new();

    public override DateTime? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : KubernetesTimeConverter.ReadUtc(ref reader);

    public override void Write(Utf8JsonWriter writer, DateTime? value, JsonSerializerOptions options)
    {
        if (value is not { } time)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStringValue(((DateTimeOffset)time).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
    }
}
