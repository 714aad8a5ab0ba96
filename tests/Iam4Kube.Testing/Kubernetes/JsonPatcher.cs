using System.Net;
using System.Text.Json.Nodes;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// The PATCH bodies the product sends: JSON merge patch (RFC 7386; iam4kube raising an Event's count) and JSON patch
/// (RFC 6902: add, replace, remove, test; the webhook's caBundle, and the admission webhook's answers, which tests
/// apply to pods with <see cref="ApplyJsonPatch"/>). kube-apiserver also takes strategic merge patch; the fake answers
/// it 415, as kube-apiserver does for a format it does not know, so that a product change to another kind of patch
/// fails loudly here instead of half-working.
/// </summary>
public static class JsonPatcher
{
    public const string MergePatch = "application/merge-patch+json";
    public const string JsonPatch = "application/json-patch+json";

    internal static JsonNode? Apply(string contentType, JsonNode target, JsonNode? patch) =>
        contentType.Split(';')[0].Trim() switch
        {
            MergePatch => Merge(target, patch),
            JsonPatch => ApplyJsonPatch(target, patch as JsonArray ?? throw ApiStatusException.BadRequest("a JSON patch is an array of operations")),
            _ => throw new ApiStatusException(
                HttpStatusCode.UnsupportedMediaType,
                "UnsupportedMediaType",
                $"the body of the request was in an unknown format - accepted media types include: {JsonPatch}, {MergePatch}"),
        };

    /// <summary>Applies an RFC 6902 patch as kube-apiserver (evanphx/json-patch) does; a failed op is 422 and changes nothing.</summary>
    public static JsonNode ApplyJsonPatch(JsonNode target, JsonArray operations)
    {
        var document = target.DeepClone();
        foreach (var operation in operations)
        {
            var op = operation?["op"]?.GetValue<string>();
            var path = operation?["path"]?.GetValue<string>() ?? throw Unprocessable("missing path");
            var (parent, last) = Resolve(document, path);
            switch (op)
            {
                case "add":
                    var value = operation!["value"]?.DeepClone();
                    if (parent is JsonArray array)
                    {
                        if (last == "-")
                        {
                            array.Add(value);
                        }
                        else
                        {
                            array.Insert(Index(array, last, allowEnd: true), value);
                        }
                    }
                    else
                    {
                        parent.AsObject()[last] = value;
                    }

                    break;
                case "replace":
                    if (parent is JsonArray replaced)
                    {
                        replaced[Index(replaced, last, allowEnd: false)] = operation!["value"]?.DeepClone();
                    }
                    else if (parent.AsObject().ContainsKey(last))
                    {
                        parent.AsObject()[last] = operation!["value"]?.DeepClone();
                    }
                    else
                    {
                        throw Unprocessable($"replace operation does not apply: doc is missing key: {path}");
                    }

                    break;
                case "remove":
                    if (parent is JsonArray removed)
                    {
                        removed.RemoveAt(Index(removed, last, allowEnd: false));
                    }
                    else if (!parent.AsObject().Remove(last))
                    {
                        throw Unprocessable($"remove operation does not apply: doc is missing path: {path}");
                    }

                    break;
                case "test":
                    var current = parent is JsonArray tested ? tested[Index(tested, last, allowEnd: false)] : parent.AsObject()[last];
                    if (!JsonNode.DeepEquals(current, operation!["value"]))
                    {
                        throw Unprocessable($"testing value {path} failed: test failed");
                    }

                    break;
                default:
                    throw Unprocessable($"Unexpected kind: {op}");
            }
        }

        return document;
    }

    private static (JsonNode Parent, string Last) Resolve(JsonNode document, string path)
    {
        if (!path.StartsWith('/'))
        {
            throw Unprocessable($"invalid path: {path}");
        }

        var tokens = path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        var node = document;
        foreach (var token in tokens[..^1])
        {
            node = (node is JsonArray array ? array[Index(array, token, allowEnd: false)] : node.AsObject()[token])
                ?? throw Unprocessable($"doc is missing path: {path}");
        }

        return (node, tokens[^1]);
    }

    private static int Index(JsonArray array, string token, bool allowEnd) =>
        int.TryParse(token, out var index) && index >= 0 && (index < array.Count || (allowEnd && index == array.Count))
            ? index
            : throw Unprocessable($"index {token} out of bounds");

    private static ApiStatusException Unprocessable(string message) => new(HttpStatusCode.UnprocessableEntity, "Invalid", message);

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
}
