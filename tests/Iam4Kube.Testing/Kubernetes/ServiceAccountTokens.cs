using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Iam4Kube.Testing.Kubernetes;

/// <summary>
/// kube-apiserver's ServiceAccount token issuer and authenticator: bound tokens (RS256 JWTs, as the kubelet gets
/// from TokenRequest for a projected volume) naming the pod, its uid, the ServiceAccount and the node; and the
/// TokenReview that checks them: signature, issuer, expiry (go-jose's one-minute leeway), audiences (the
/// intersection with <c>spec.audiences</c>, or the API server's own audience when none is asked), and that the bound
/// pod and ServiceAccount still exist with the token's uids (a pod deleted more than the leeway ago invalidates its
/// tokens; one being deleted does not, yet).
/// </summary>
internal sealed class ServiceAccountTokens(ClusterState cluster, TimeProvider time)
{
    public const string Issuer = "https://kubernetes.default.svc.cluster.local";

    /// <summary>What a TokenReview without spec.audiences checks against (the API server's --api-audiences).</summary>
    public const string ApiAudience = Issuer;

    private static readonly TimeSpan Leeway = TimeSpan.FromMinutes(1);

    private readonly RSA _key = RSA.Create(2048);
    private readonly string _keyId = Guid.NewGuid().ToString("N");

    /// <summary>Reviews performed, authenticated or not.</summary>
    public int Reviews => _reviews;

    private int _reviews;

    public string Issue(V1Pod pod, IReadOnlyList<string> audiences, DateTimeOffset expires)
    {
        var meta = pod.Metadata;
        var serviceAccountName = string.IsNullOrEmpty(pod.Spec?.ServiceAccountName) ? "default" : pod.Spec.ServiceAccountName;
        var serviceAccount = cluster.Get(ResourceKinds.ServiceAccounts, meta.NamespaceProperty, serviceAccountName)?.ToModel<V1ServiceAccount>()
            ?? throw new InvalidOperationException($"serviceaccounts \"{serviceAccountName}\" not found: TokenRequest needs it");
        var now = time.GetUtcNow();
        var kubernetes = new JsonObject
        {
            ["namespace"] = meta.NamespaceProperty,
            ["pod"] = new JsonObject { ["name"] = meta.Name, ["uid"] = meta.Uid },
            ["serviceaccount"] = new JsonObject { ["name"] = serviceAccountName, ["uid"] = serviceAccount.Metadata.Uid },
        };
        if (pod.Spec?.NodeName is { } nodeName && cluster.Get(ResourceKinds.Nodes, null, nodeName)?.ToModel<V1Node>() is { } node)
        {
            kubernetes["node"] = new JsonObject { ["name"] = nodeName, ["uid"] = node.Metadata.Uid };
        }

        var claims = new JsonObject
        {
            ["aud"] = new JsonArray([.. audiences.Select(a => JsonValue.Create(a))]),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["iss"] = Issuer,
            ["jti"] = Guid.NewGuid().ToString(),
            ["kubernetes.io"] = kubernetes,
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["sub"] = $"system:serviceaccount:{meta.NamespaceProperty}:{serviceAccountName}",
        };
        var header = new JsonObject { ["alg"] = "RS256", ["kid"] = _keyId };
        var signed = $"{Base64Url(header.ToJsonString())}.{Base64Url(claims.ToJsonString())}";
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signed}.{Base64UrlEncode(signature)}";
    }

    /// <summary>POST /apis/authentication.k8s.io/v1/tokenreviews: the review with its status filled in.</summary>
    public V1TokenReview Review(V1TokenReview review)
    {
        Interlocked.Increment(ref _reviews);
        var token = review.Spec?.Token;
        if (string.IsNullOrEmpty(token))
        {
            throw ApiStatusException.BadRequest("token is required for TokenReview in authentication");
        }

        IList<string> wanted = review.Spec!.Audiences is { Count: > 0 } asked ? asked : [ApiAudience];
        review.Status = Authenticate(token, wanted);
        review.ApiVersion = "authentication.k8s.io/v1";
        review.Kind = "TokenReview";
        review.Metadata ??= new V1ObjectMeta();
        review.Metadata.CreationTimestamp = null;
        return review;
    }

    private V1TokenReviewStatus Authenticate(string token, IList<string> wanted)
    {
        var parts = token.Split('.');
        JsonNode? claims;
        try
        {
            if (parts.Length != 3 || JsonNode.Parse(Base64UrlDecode(parts[0]))?["alg"]?.GetValue<string>() != "RS256")
            {
                // Not a JWT: no authenticator claims it; the review is simply unauthenticated, without an error.
                return Unauthenticated(null);
            }

            claims = JsonNode.Parse(Base64UrlDecode(parts[1]));
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return Unauthenticated(null);
        }

        if (claims?["iss"]?.GetValue<string>() != Issuer)
        {
            return Unauthenticated(null);
        }

        if (!_key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), SafeDecode(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            return Unauthenticated("[invalid bearer token, square/go-jose: error in cryptographic primitive]");
        }

        var now = time.GetUtcNow();
        var expires = DateTimeOffset.FromUnixTimeSeconds(claims["exp"]!.GetValue<long>());
        if (now > expires + Leeway)
        {
            return Unauthenticated("[invalid bearer token, service account token has expired]");
        }

        var tokenAudiences = claims["aud"] is JsonArray array ? array.Select(a => a!.GetValue<string>()).ToList() : [claims["aud"]!.GetValue<string>()];
        var matched = wanted.Intersect(tokenAudiences, StringComparer.Ordinal).ToList();
        if (matched.Count == 0)
        {
            return Unauthenticated($"[invalid bearer token, token audiences {Quoted(tokenAudiences)} is invalid for the target audiences {Quoted(wanted)}]");
        }

        var k8s = claims["kubernetes.io"]!;
        var ns = k8s["namespace"]!.GetValue<string>();
        var saName = k8s["serviceaccount"]!["name"]!.GetValue<string>();
        var sa = cluster.Get(ResourceKinds.ServiceAccounts, ns, saName)?.ToModel<V1ServiceAccount>();
        if (sa is null || sa.Metadata.Uid != k8s["serviceaccount"]!["uid"]!.GetValue<string>())
        {
            return Unauthenticated("[invalid bearer token, service account token has been invalidated]");
        }

        var extra = new Dictionary<string, IList<string>>(StringComparer.Ordinal)
        {
            ["authentication.kubernetes.io/credential-id"] = [$"JTI={claims["jti"]!.GetValue<string>()}"],
        };
        if (k8s["pod"] is { } podRef)
        {
            var podName = podRef["name"]!.GetValue<string>();
            var podUid = podRef["uid"]!.GetValue<string>();
            var pod = cluster.Get(ResourceKinds.Pods, ns, podName)?.ToModel<V1Pod>();
            if (pod is null || pod.Metadata.Uid != podUid
                || (pod.Metadata.DeletionTimestamp is { } deleted && deleted < now.UtcDateTime - Leeway))
            {
                return Unauthenticated("[invalid bearer token, service account token has been invalidated]");
            }

            extra["authentication.kubernetes.io/pod-name"] = [podName];
            extra["authentication.kubernetes.io/pod-uid"] = [podUid];
        }

        if (k8s["node"] is { } nodeRef)
        {
            extra["authentication.kubernetes.io/node-name"] = [nodeRef["name"]!.GetValue<string>()];
            extra["authentication.kubernetes.io/node-uid"] = [nodeRef["uid"]!.GetValue<string>()];
        }

        return new V1TokenReviewStatus
        {
            Authenticated = true,
            Audiences = matched,
            User = new V1UserInfo
            {
                Username = $"system:serviceaccount:{ns}:{saName}",
                Uid = sa.Metadata.Uid,
                Groups = ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"],
                Extra = extra,
            },
        };
    }

    private static V1TokenReviewStatus Unauthenticated(string? error) => new() { User = new V1UserInfo(), Error = error };

    private static string Quoted(IEnumerable<string> values) => "[" + string.Join(" ", values.Select(v => $"\"{v}\"")) + "]";

    private static byte[] SafeDecode(string value)
    {
        try
        {
            return Base64UrlDecode(value);
        }
        catch (FormatException)
        {
            return [];
        }
    }

    private static string Base64Url(string json) => Base64UrlEncode(Encoding.UTF8.GetBytes(json));

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Base64UrlDecode(string value)
    {
        var padded = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }

    /// <summary>Serialises a review as kube-apiserver answers it.</summary>
    public static string ToJson(V1TokenReview review) => KubernetesJson.Serialize(review);
}
