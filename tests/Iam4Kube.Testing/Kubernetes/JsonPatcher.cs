using System.Globalization;
using System.Text.Json.Nodes;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// The PATCH bodies kube-apiserver takes: JSON merge patch (RFC 7386), strategic merge patch (served here as a merge
/// patch: maps merge and lists are replaced, which is what patches of counts, timestamps, labels and annotations need)
/// and JSON patch (RFC 6902: add, remove, replace, test).
/// </summary>
internal static class JsonPatcher
{
    public const string MergePatch = "application/merge-patch+json";
    public const string StrategicMergePatch = "application/strategic-merge-patch+json";
    public const string JsonPatch = "application/json-patch+json";

    public static JsonNode? Apply(string contentType, JsonNode target, JsonNode? patch)
    {
        var mediaType = contentType.Split(';')[0].Trim();
        return mediaType switch
        {
            MergePatch or StrategicMergePatch => Merge(target, patch),
            JsonPatch => ApplyOperations(target, patch as JsonArray ?? throw Bad("a JSON patch is an array of operations")),
            _ => throw new ApiStatusException(
                System.Net.HttpStatusCode.UnsupportedMediaType,
                "UnsupportedMediaType",
                $"the body of the request was in an unknown format - accepted media types include: {JsonPatch}, {MergePatch}, {StrategicMergePatch}"),
        };
    }

    private static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? [];
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                var merged = Merge(result[name], value);
                result.Remove(name);
                result[name] = merged;
            }
        }

        return result;
    }

    private static JsonNode ApplyOperations(JsonNode target, JsonArray operations)
    {
        var root = target;
        foreach (var operation in operations)
        {
            var op = operation?["op"]?.GetValue<string>() ?? throw Bad("an operation has no op");
            var path = operation["path"]?.GetValue<string>() ?? throw Bad("an operation has no path");
            var value = operation["value"];
            switch (op)
            {
                case "add":
                    root = Set(root, path, value?.DeepClone(), insert: true);
                    break;
                case "replace":
                    _ = Resolve(root, path) ?? throw Bad($"replace operation does not apply: doc is missing key: {path}");
                    root = Set(root, path, value?.DeepClone(), insert: false);
                    break;
                case "remove":
                    Remove(root, path);
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Resolve(root, path), value))
                    {
                        throw new ApiStatusException(
                            System.Net.HttpStatusCode.UnprocessableEntity, "Invalid", $"testing value {path} failed");
                    }

                    break;
                default:
                    throw Bad($"unsupported JSON patch operation \"{op}\"");
            }
        }

        return root;
    }

    private static string[] Tokens(string path) =>
        path.Length == 0
            ? []
            : path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();

    private static JsonNode? Resolve(JsonNode? node, string path)
    {
        foreach (var token in Tokens(path))
        {
            node = node switch
            {
                JsonObject o => o[token],
                JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => null,
            };
        }

        return node;
    }

    private static JsonNode Set(JsonNode root, string path, JsonNode? value, bool insert)
    {
        var tokens = Tokens(path);
        if (tokens.Length == 0)
        {
            return value ?? throw Bad("cannot replace the whole document with null");
        }

        var parent = Resolve(root, ParentPath(tokens)) ?? throw Bad($"doc is missing path: {path}");
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                if (insert)
                {
                    a.Insert(i, value);
                }
                else
                {
                    a[i] = value;
                }

                break;
            default:
                throw Bad($"doc is missing path: {path}");
        }

        return root;
    }

    private static void Remove(JsonNode root, string path)
    {
        var tokens = Tokens(path);
        var parent = tokens.Length == 0 ? null : Resolve(root, ParentPath(tokens));
        var last = tokens.Length == 0 ? string.Empty : tokens[^1];
        var removed = parent switch
        {
            JsonObject o => o.Remove(last),
            JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => RemoveAt(a, i),
            _ => false,
        };
        if (!removed)
        {
            throw Bad($"remove operation does not apply: doc is missing path: {path}");
        }
    }

    private static bool RemoveAt(JsonArray array, int index)
    {
        array.RemoveAt(index);
        return true;
    }

    private static string ParentPath(string[] tokens) =>
        tokens.Length <= 1 ? string.Empty : "/" + string.Join('/', tokens[..^1].Select(Escape));

    private static string Escape(string token) =>
        token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static ApiStatusException Bad(string message) =>
        new(System.Net.HttpStatusCode.UnprocessableEntity, "Invalid", message);
}
