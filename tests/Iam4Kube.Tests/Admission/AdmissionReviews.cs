using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.Admission;

/// <summary>AdmissionReview requests as kube-apiserver sends them to a mutating or validating webhook.</summary>
internal static class AdmissionReviews
{
    public static string CreatePod(V1Pod pod, string uid) =>
        // A Deployment's pods come with generateName and no name yet; the namespace is on the request.
        Review(uid, "Pod", "pods", pod.Metadata.NamespaceProperty, name: null, "CREATE",
            new JsonObject
            {
                ["username"] = "system:serviceaccount:kube-system:replicaset-controller",
                ["uid"] = Guid.NewGuid().ToString(),
                ["groups"] = new JsonArray("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"),
            },
            pod, old: null, dryRun: false);

    /// <summary>
    /// A ServiceAccount being written, as kube-apiserver sends it: <paramref name="operation"/> CREATE (object, no
    /// oldObject), UPDATE (both) or DELETE (oldObject only, object null); options named after the operation.
    /// </summary>
    public static string ServiceAccount(string operation, V1ServiceAccount? serviceAccount, V1ServiceAccount? old, string uid, bool dryRun = false)
    {
        var subject = serviceAccount ?? old!;
        return Review(uid, "ServiceAccount", "serviceaccounts", subject.Metadata.NamespaceProperty, subject.Metadata.Name, operation,
            new JsonObject
            {
                ["username"] = "jane@example.com",
                ["groups"] = new JsonArray("team-a-admins", "system:authenticated"),
                ["extra"] = new JsonObject { ["authentication.kubernetes.io/credential-id"] = new JsonArray("X509SHA256=4f0c") },
            },
            serviceAccount, old, dryRun);
    }

    /// <summary>Posts <paramref name="review"/> to <paramref name="path"/> as kube-apiserver does and returns the answer's
    /// response, checked as kube-apiserver checks it: 200, an admission.k8s.io/v1 AdmissionReview, the request's uid.</summary>
    public static async Task<JsonNode> PostAsync(HttpClient client, string path, string review, string uid)
    {
        using var answer = await client.PostAsync(path, new StringContent(review, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
        var body = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal("admission.k8s.io/v1", body["apiVersion"]!.GetValue<string>());
        Assert.Equal("AdmissionReview", body["kind"]!.GetValue<string>());
        var response = body["response"]!;
        Assert.Equal(uid, response["uid"]!.GetValue<string>());
        return response;
    }

    private static string Review(string uid, string kind, string resource, string? @namespace, string? name, string operation, JsonObject userInfo, object? current, object? old, bool dryRun)
    {
        var request = new JsonObject
        {
            ["uid"] = uid,
            ["kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = kind },
            ["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = resource },
            ["requestKind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = kind },
            ["requestResource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = resource },
        };
        if (name is not null)
        {
            request["name"] = name;
        }

        request["namespace"] = @namespace;
        request["operation"] = operation;
        request["userInfo"] = userInfo;
        request["object"] = current is null ? null : JsonNode.Parse(KubernetesJson.Serialize(current));
        request["oldObject"] = old is null ? null : JsonNode.Parse(KubernetesJson.Serialize(old));
        request["dryRun"] = dryRun;
        request["options"] = new JsonObject
        {
            ["kind"] = operation switch { "CREATE" => "CreateOptions", "UPDATE" => "UpdateOptions", _ => "DeleteOptions" },
            ["apiVersion"] = "meta.k8s.io/v1",
        };
        return new JsonObject { ["kind"] = "AdmissionReview", ["apiVersion"] = "admission.k8s.io/v1", ["request"] = request }.ToJsonString();
    }
}
