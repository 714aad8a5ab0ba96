using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.Admission;

/// <summary>AdmissionReview requests as kube-apiserver sends them to a mutating webhook.</summary>
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
}
