using System.Text.Json;
using System.Text.Json.Nodes;
using Iam4Kube.Admission;
using Iam4Kube.Stores;

namespace Iam4Kube.PodIdentity;

/// <summary>
/// The mutating webhook <c>/mutate/pods</c>, as EKS's pod identity webhook does in container-credentials mode: a
/// pod whose ServiceAccount has a role annotation gets, in every container and init container, the two variables
/// that point the SDKs at the token door and a projected ServiceAccount token (iam4kube's audience, 24 h) to send
/// there. What the user set stays: a variable already present is not added again, and a container that names its
/// own container-credentials endpoint is left alone entirely (our token must not go to their endpoint). Idempotent:
/// reinvocation finds everything in place and patches nothing. Missing the pod is harmless by design
/// (failurePolicy Ignore): it still gets its role through the IMDS door.
/// </summary>
internal sealed partial class PodIdentityInjector(ServiceAccountStore serviceAccounts, string audience, ILogger<PodIdentityInjector> logger) : IAdmissionReviewer
{
    public const string FullUriVariable = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    public const string RelativeUriVariable = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    public const string TokenFileVariable = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
    public const string FullUri = "http://169.254.170.23/v1/credentials";
    public const string VolumeName = "iam4kube-pod-identity-token";
    public const string MountPath = "/var/run/secrets/iam4kube.io/serviceaccount";
    public const string TokenFile = MountPath + "/token";

    /// <summary>A pod annotated <c>iam4kube.io/pod-identity: "disabled"</c> is not touched.</summary>
    public const string OptOutAnnotation = "iam4kube.io/pod-identity";

    public const long ExpirationSeconds = 86400;

    public string Path => "/mutate/pods";

    /// <summary>--pod-annotations: a pod naming its own role (iam.amazonaws.com/role) is injected too; the default role alone is not.</summary>
    public bool PodAnnotations { get; init; }

    public AdmissionResponse Review(AdmissionRequest request)
    {
        if (request.Kind?.Kind != "Pod" || request.Object.ValueKind != JsonValueKind.Object || request.Operation is not ("CREATE" or null))
        {
            return AdmissionResponse.Allow(request.Uid);
        }

        var pod = JsonNode.Parse(request.Object.GetRawText())!.AsObject();
        var ns = request.Namespace ?? pod["metadata"]?["namespace"]?.GetValue<string>() ?? "default";
        if (pod["metadata"]?["annotations"]?[OptOutAnnotation]?.GetValue<string>() == "disabled")
        {
            return AdmissionResponse.Allow(request.Uid);
        }

        var serviceAccount = pod["spec"]?["serviceAccountName"]?.GetValue<string>() is { Length: > 0 } name ? name : "default";
        if (serviceAccounts.Get(new NamespacedName(ns, serviceAccount)) is not { Annotations.RoleArn: not null }
            && !(PodAnnotations && pod["metadata"]?["annotations"]?[Roles.PodRoleAnnotations.RoleKey] is not null))
        {
            return AdmissionResponse.Allow(request.Uid);
        }

        var patch = new JsonArray();
        var spec = pod["spec"]!.AsObject();
        var injected = 0;
        foreach (var list in (string[])["initContainers", "containers"])
        {
            if (spec[list] is not JsonArray containers)
            {
                continue;
            }

            for (var i = 0; i < containers.Count; i++)
            {
                injected += Inject(containers[i]!.AsObject(), $"/spec/{list}/{i}", patch) ? 1 : 0;
            }
        }

        if (injected > 0 && !Has(spec["volumes"], VolumeName))
        {
            Add(patch, spec["volumes"], "/spec/volumes", Volume());
        }

        if (patch.Count == 0)
        {
            return AdmissionResponse.Allow(request.Uid);
        }

        Log.Injected(logger, ns, pod["metadata"]?["name"]?.GetValue<string>() ?? pod["metadata"]?["generateName"]?.GetValue<string>() ?? "", serviceAccount, injected);
        return AdmissionResponse.WithPatch(request.Uid, JsonSerializer.SerializeToUtf8Bytes(patch, PatchJsonContext.Default.JsonArray));
    }

    /// <summary>Adds what the container lacks; false when it opted for its own endpoint (nothing added, no volume needed for it).</summary>
    private static bool Inject(JsonObject container, string pointer, JsonArray patch)
    {
        var env = container["env"];
        if (Has(env, RelativeUriVariable) || (Has(env, FullUriVariable) && !HasValue(env, FullUriVariable, FullUri)))
        {
            return false;
        }

        foreach (var (name, value) in (ReadOnlySpan<(string, string)>)[(FullUriVariable, FullUri), (TokenFileVariable, TokenFile)])
        {
            if (!Has(env, name))
            {
                env = Add(patch, env, $"{pointer}/env", new JsonObject { ["name"] = name, ["value"] = value });
            }
        }

        var mounts = container["volumeMounts"];
        if (!Has(mounts, VolumeName) && !(mounts as JsonArray ?? []).Any(m => m?["mountPath"]?.GetValue<string>() == MountPath))
        {
            Add(patch, mounts, $"{pointer}/volumeMounts", new JsonObject { ["name"] = VolumeName, ["mountPath"] = MountPath, ["readOnly"] = true });
        }

        return true;
    }

    /// <summary>Appends <paramref name="item"/> to the array at <paramref name="pointer"/>, creating it when absent; returns the array as it will be.</summary>
    private static JsonArray Add(JsonArray patch, JsonNode? array, string pointer, JsonObject item)
    {
        if (array is JsonArray)
        {
            // JsonArray.Add(JsonNode), not Add<T>: the generic overload serializes T by reflection (not under NativeAOT).
            patch.Add((JsonNode)new JsonObject { ["op"] = "add", ["path"] = pointer + "/-", ["value"] = item.DeepClone() });
            var copy = array.DeepClone().AsArray();
            copy.Add((JsonNode)item);
            return copy;
        }

        patch.Add((JsonNode)new JsonObject { ["op"] = "add", ["path"] = pointer, ["value"] = new JsonArray(item.DeepClone()) });
        return new JsonArray(item);
    }

    private static bool Has(JsonNode? array, string name) =>
        array is JsonArray items && items.Any(i => i?["name"]?.GetValue<string>() == name);

    private static bool HasValue(JsonNode? array, string name, string value) =>
        array is JsonArray items && items.Any(i => i?["name"]?.GetValue<string>() == name && i["value"]?.GetValue<string>() == value);

    private JsonObject Volume() => new()
    {
        ["name"] = VolumeName,
        ["projected"] = new JsonObject
        {
            ["sources"] = new JsonArray(new JsonObject
            {
                ["serviceAccountToken"] = new JsonObject { ["audience"] = audience, ["expirationSeconds"] = ExpirationSeconds, ["path"] = "token" },
            }),
        },
    };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Injected the pod identity token into {NamespaceName}/{Pod} (ServiceAccount {ServiceAccount}, {Containers} containers)")]
        public static partial void Injected(ILogger logger, string namespaceName, string pod, string serviceAccount, int containers);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonArray))]
internal sealed partial class PatchJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
