using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Iam4Kube.LocalMode;

/// <summary>
/// A YAML document (its node tree) into a k8s.Models object, with the models' JSON field names, as kubectl reads it.
/// Without reflection, so that iam4kube publishes with NativeAOT: the fields and their types come from
/// System.Text.Json's source-generated metadata (<see cref="LocalModeJsonContext"/>); the YAML is checked field by
/// field against it and written out as JSON, which that metadata then reads into the model. Strict: a field the model
/// does not have, or a value of the wrong kind, throws a <see cref="YamlException"/> at that node, in words for the
/// person editing the file (<see cref="ClusterFileParser"/> adds the document, line and field path).
/// </summary>
internal static class YamlModelReader
{
    public const string UnknownField = "unknown field (field names are case-sensitive, as in kubectl)";

    public static T Read<T>(YamlNode root, JsonTypeInfo<T> type)
    {
        var json = ToJson(root, type);
        try
        {
            return JsonSerializer.Deserialize(json, type)!;
        }
        catch (JsonException e)
        {
            // The checks above leave System.Text.Json nothing to refuse; should one slip through, it is still an error
            // in the file, not a crash.
            throw new YamlException(root.Start, root.End, $"cannot be read as {typeof(T).Name}: {e.Message}", e);
        }
    }

    private static JsonNode? ToJson(YamlNode node, JsonTypeInfo type)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" or "Null" or "NULL", Style: ScalarStyle.Plain } && !IsString(type.Type))
        {
            return null;
        }

        return type.Kind switch
        {
            JsonTypeInfoKind.Object => ToObject(node, type),
            JsonTypeInfoKind.Enumerable => node is YamlSequenceNode sequence
                ? new JsonArray([.. sequence.Children.Select(item => ToJson(item, type.Options.GetTypeInfo(type.ElementType!)))])
                : throw WrongType(node, "a list"),
            JsonTypeInfoKind.Dictionary => node is YamlMappingNode mapping
                ? new JsonObject(mapping.Children.Select(entry =>
                    KeyValuePair.Create(Key(entry.Key), ToJson(entry.Value, type.Options.GetTypeInfo(type.ElementType!)))))
                : throw WrongType(node, "a mapping"),
            _ => node is YamlScalarNode scalar ? ToScalar(scalar, type.Type) : throw WrongType(node, Expected(type.Type)),
        };
    }

    private static JsonObject ToObject(YamlNode node, JsonTypeInfo type)
    {
        if (node is not YamlMappingNode mapping)
        {
            throw WrongType(node, $"a mapping ({type.Type.Name})");
        }

        var json = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            var name = Key(key);
            var property = type.Properties.FirstOrDefault(p => p.Name == name)
                ?? throw new YamlException(key.Start, key.End, UnknownField);
            json[name] = ToJson(value, type.Options.GetTypeInfo(property.PropertyType));
        }

        return json;
    }

    private static string Key(YamlNode key) =>
        key is YamlScalarNode { Value: { } name } ? name : throw new YamlException(key.Start, key.End, "a field name must be a plain string");

    /// <summary>A scalar as the JSON the model's converter reads, checked first so that a bad value names its node.</summary>
    private static JsonValue ToScalar(YamlScalarNode scalar, Type type)
    {
        var value = scalar.Value ?? "";
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target == typeof(bool))
        {
            return value is "true" or "True" or "TRUE" ? JsonValue.Create(true)
                : value is "false" or "False" or "FALSE" ? JsonValue.Create(false)
                : throw WrongValue(scalar, type);
        }

        if (target == typeof(int))
        {
            return int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number) : throw WrongValue(scalar, type);
        }

        if (target == typeof(long))
        {
            return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number) : throw WrongValue(scalar, type);
        }

        if (target == typeof(double))
        {
            return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number) : throw WrongValue(scalar, type);
        }

        if (target == typeof(DateTime))
        {
            return DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
                ? JsonValue.Create(time.ToString("O", CultureInfo.InvariantCulture))
                : throw WrongValue(scalar, type);
        }

        if (target == typeof(ResourceQuantity))
        {
            Check(scalar, "quantity (like 100m or 1Gi)", () => new ResourceQuantity(value));
        }
        else if (target == typeof(byte[]))
        {
            Check(scalar, "base64 data", () => Convert.FromBase64String(value));
        }

        // Strings, IntOrString (its converter reads a string as well as a number) and quantities: as written.
        return JsonValue.Create(value);
    }

    private static void Check(YamlScalarNode scalar, string expected, Func<object> parse)
    {
        try
        {
            parse();
        }
        catch (FormatException e)
        {
            throw new YamlException(scalar.Start, scalar.End, $"wrong type: expected {expected}, not '{scalar.Value}'", e);
        }
    }

    private static bool IsString(Type type) => type == typeof(string);

    private static YamlException WrongType(YamlNode node, string expected) =>
        new(node.Start, node.End, $"wrong type: expected {expected}");

    private static YamlException WrongValue(YamlScalarNode scalar, Type type) =>
        new(scalar.Start, scalar.End, $"wrong type: expected {Expected(type)}, not '{scalar.Value}'");

    private static string Expected(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(string) => "a string",
        var t when t == typeof(int) || t == typeof(long) => "a whole number",
        var t when t == typeof(double) => "a number",
        var t when t == typeof(bool) => "true or false",
        var t when t == typeof(DateTime) => "a timestamp",
        var t => t.Name,
    };
}

/// <summary>The kinds local mode reads, for <see cref="YamlModelReader"/>: the metadata of every field they hold.</summary>
[JsonSerializable(typeof(V1Pod))]
[JsonSerializable(typeof(V1ServiceAccount))]
[JsonSerializable(typeof(V1Node))]
internal sealed partial class LocalModeJsonContext : JsonSerializerContext;
