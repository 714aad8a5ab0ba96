using System.Reflection;
using System.Text.RegularExpressions;
using System.Text.Json.Serialization;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.TypeInspectors;

namespace Iam4Kube.Tests.Deploy;

/// <summary>
/// Kubernetes objects of any kind from YAML, with the JSON field names of the k8s.Models types, as kubectl reads them,
/// for the tests of the deploy manifests. Strict: a field the model does not have throws YamlDotNet's "Property 'x'
/// not found on type" <see cref="YamlException"/>, with the position of the field. By reflection (YamlDotNet's
/// deserializer over every model type): fine in the tests; iam4kube itself is published with NativeAOT and reads its
/// cluster file with LocalMode/YamlModelReader.cs instead.
/// </summary>
internal static partial class KubernetesYamlReader
{
    private static readonly Lazy<IDeserializer> Strict = new(() => Build(ignoreUnmatched: false));
    private static readonly Lazy<IDeserializer> Lenient = new(() => Build(ignoreUnmatched: true));

    // apiVersion ("v1", "apps/v1") and kind → model type, from the models' [KubernetesEntity] attributes.
    private static readonly Lazy<Dictionary<(string ApiVersion, string Kind), Type>> Models = new(() =>
        typeof(V1Pod).Assembly.GetTypes()
            .Select(t => (Type: t, Entity: t.GetCustomAttribute<KubernetesEntityAttribute>()))
            .Where(m => m.Entity is { Kind: not null, ApiVersion: not null })
            .GroupBy(m => (string.IsNullOrEmpty(m.Entity!.Group) ? m.Entity.ApiVersion : $"{m.Entity.Group}/{m.Entity.ApiVersion}", m.Entity.Kind))
            .ToDictionary(g => g.Key, g => g.First().Type));

    public static T Deserialize<T>(string yaml) => Strict.Value.Deserialize<T>(yaml);

    /// <summary>Every document of a multi-document YAML (split on <c>---</c> lines) as its model type, chosen by its
    /// apiVersion and kind (read leniently first: only those two fields), strictly; empty documents are skipped.</summary>
    public static IReadOnlyList<object> LoadAll(string yaml)
    {
        var objects = new List<object>();
        foreach (var document in DocumentSeparator().Split(yaml))
        {
            if (Lenient.Value.Deserialize<Dictionary<string, object?>?>(document) is not { } fields)
            {
                continue;
            }

            var (apiVersion, kind) = (fields.GetValueOrDefault("apiVersion") as string ?? "", fields.GetValueOrDefault("kind") as string ?? "");
            var type = Models.Value.GetValueOrDefault((apiVersion, kind))
                ?? throw new YamlException($"Unknown apiVersion '{apiVersion}' and kind '{kind}'");
            objects.Add(Strict.Value.Deserialize(document, type)!);
        }

        return objects;
    }

    [GeneratedRegex(@"^---([ \t].*)?\r?$", RegexOptions.Multiline)]
    private static partial Regex DocumentSeparator();

    private static IDeserializer Build(bool ignoreUnmatched)
    {
        var builder = new DeserializerBuilder()
            .WithTypeInspector(inner => new JsonNameTypeInspector(inner))
            .WithTypeConverter(new ScalarConverter<IntOrString>(value => value))
            .WithTypeConverter(new ScalarConverter<ResourceQuantity>(value => new ResourceQuantity(value)))
            .WithTypeConverter(new ScalarConverter<byte[]>(Convert.FromBase64String));
        return (ignoreUnmatched ? builder.IgnoreUnmatchedProperties() : builder).Build();
    }

    /// <summary>Names each property as its [JsonPropertyName] says (metadata.namespace, not namespaceProperty).</summary>
    private sealed class JsonNameTypeInspector(ITypeInspector inner) : TypeInspectorSkeleton
    {
        public override string GetEnumName(Type enumType, string name) => inner.GetEnumName(enumType, name);

        public override string GetEnumValue(object enumValue) => inner.GetEnumValue(enumValue);

        public override bool HasParseMethod(Type type) => inner.HasParseMethod(type);

        public override object? Parse(string value, Type type) => inner.Parse(value, type);

        public override IEnumerable<IPropertyDescriptor> GetProperties(Type type, object? container) =>
            inner.GetProperties(type, container).Select(p =>
                p.GetCustomAttribute<JsonPropertyNameAttribute>() is { } json ? new PropertyDescriptor(p) { Name = json.Name } : p);
    }

    /// <summary>A type written as a single scalar (IntOrString, quantities, base64 bytes).</summary>
    private sealed class ScalarConverter<T>(Func<string, T> parse) : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type == typeof(T);

        public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
        {
            var scalar = parser.Consume<Scalar>();
            try
            {
                return parse(scalar.Value);
            }
            catch (FormatException e)
            {
                throw new YamlException(scalar.Start, scalar.End, $"'{scalar.Value}' is not a valid {typeof(T).Name}", e);
            }
        }

        public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
            throw new NotSupportedException("Only reading.");
    }
}
