using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.Admission;

/// <summary>AdmissionReview requests as kube-apiserver sends them to a mutating or validating webhook.</summary>
internal static class AdmissionReviews
{
    public static string CreatePod(V1Pod pod, string uid) =>
        new JsonObject
        {
            ["kind"] = "AdmissionReview",
            ["apiVersion"] = "admission.k8s.io/v1",
            ["request"] = new JsonObject
            {
                ["uid"] = uid,
                ["kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "Pod" },
                ["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "pods" },
                ["requestKind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "Pod" },
                ["requestResource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "pods" },
                // A Deployment's pods come with generateName and no name yet; the namespace is on the request.
                ["namespace"] = pod.Metadata.NamespaceProperty,
                ["operation"] = "CREATE",
                ["userInfo"] = new JsonObject
                {
                    ["username"] = "system:serviceaccount:kube-system:replicaset-controller",
                    ["uid"] = Guid.NewGuid().ToString(),
                    ["groups"] = new JsonArray("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"),
                },
                ["object"] = JsonNode.Parse(KubernetesJson.Serialize(pod)),
                ["oldObject"] = null,
                ["dryRun"] = false,
                ["options"] = new JsonObject { ["kind"] = "CreateOptions", ["apiVersion"] = "meta.k8s.io/v1" },
            },
        }.ToJsonString();

    /// <summary>
    /// A ServiceAccount being written, as kube-apiserver sends it: <paramref name="operation"/> CREATE (object, no
    /// oldObject), UPDATE (both) or DELETE (oldObject only, object null); options named after the operation.
    /// </summary>
    public static string ServiceAccount(string operation, V1ServiceAccount? serviceAccount, V1ServiceAccount? old, string uid, bool dryRun = false)
    {
        var subject = serviceAccount ?? old!;
        return new JsonObject
        {
            ["kind"] = "AdmissionReview",
            ["apiVersion"] = "admission.k8s.io/v1",
            ["request"] = new JsonObject
            {
                ["uid"] = uid,
                ["kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "ServiceAccount" },
                ["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "serviceaccounts" },
                ["requestKind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "ServiceAccount" },
                ["requestResource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "serviceaccounts" },
                ["name"] = subject.Metadata.Name,
                ["namespace"] = subject.Metadata.NamespaceProperty,
                ["operation"] = operation,
                ["userInfo"] = new JsonObject
                {
                    ["username"] = "jane@example.com",
                    ["groups"] = new JsonArray("team-a-admins", "system:authenticated"),
                    ["extra"] = new JsonObject { ["authentication.kubernetes.io/credential-id"] = new JsonArray("X509SHA256=4f0c") },
                },
                ["object"] = serviceAccount is null ? null : JsonNode.Parse(KubernetesJson.Serialize(serviceAccount)),
                ["oldObject"] = old is null ? null : JsonNode.Parse(KubernetesJson.Serialize(old)),
                ["dryRun"] = dryRun,
                ["options"] = new JsonObject
                {
                    ["kind"] = operation switch { "CREATE" => "CreateOptions", "UPDATE" => "UpdateOptions", _ => "DeleteOptions" },
                    ["apiVersion"] = "meta.k8s.io/v1",
                },
            },
        }.ToJsonString();
    }
}
