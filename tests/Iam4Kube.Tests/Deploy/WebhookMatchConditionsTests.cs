using System.Text.Json;
using System.Text.Json.Nodes;
using Iam4Kube.Testing.Builders;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.Deploy;

/// <summary>
/// The validating webhooks' matchConditions, evaluated by a CEL interpreter on objects as kube-apiserver passes them
/// (<c>object</c>, the typed model serialized): only objects with a role annotation are sent to iam4kube, so the
/// <c>default</c> ServiceAccount of every new namespace, and removing a role, never wait for it.
/// </summary>
public sealed class WebhookMatchConditionsTests
{
    private static readonly Cel.CelEnvironment Cel = new([], "");

    private static bool Matches(V1ValidatingWebhook webhook, object kubernetesObject)
    {
        var variables = new Dictionary<string, object?> { ["object"] = Unwrap(JsonNode.Parse(KubernetesJson.Serialize(kubernetesObject))) };
        return webhook.MatchConditions.All(c => Cel.Program(c.Expression, variables) is true);
    }

    /// <summary>JSON as CEL's dynamic values: maps, lists, strings, numbers, booleans.</summary>
    private static object? Unwrap(JsonNode? node) => node switch
    {
        JsonObject o => o.ToDictionary(p => p.Key, p => Unwrap(p.Value)!),
        JsonArray a => a.Select(Unwrap).ToList(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonValue v => v.GetValue<long>(),
        _ => null,
    };

    private static V1ServiceAccount WithAnnotations(Dictionary<string, string>? annotations)
    {
        var serviceAccount = KubeObjects.ServiceAccount("team-a", "app");
        serviceAccount.Metadata.Annotations = annotations;
        return serviceAccount;
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void OnlyServiceAccountsWithARoleAnnotationAreSent(string variant)
    {
        var webhook = Manifests.Load(variant).Single<V1ValidatingWebhookConfiguration>("iam4kube-validating").Webhooks.Single(w => w.Name == "serviceaccounts.iam4kube.io");

        Assert.True(Matches(webhook, KubeObjects.ServiceAccount("team-a", "app", KubeObjects.RoleArn("app"))));
        Assert.True(Matches(webhook, WithAnnotations(new() { ["iam.amazonaws.com/roleExternalId"] = "abc" })));
        Assert.True(Matches(webhook, WithAnnotations(new() { ["iam.amazonaws.com/sessionDuration"] = "2h" })));
        Assert.False(Matches(webhook, WithAnnotations(null)));
        Assert.False(Matches(webhook, WithAnnotations([])));
        Assert.False(Matches(webhook, WithAnnotations(new() { ["kubectl.kubernetes.io/last-applied-configuration"] = "{}", ["iam.amazonaws.com/role"] = "x" })));
    }

    [Fact]
    public void InCompatibilityModeOnlyPodsWithKube2iamOrKiamAnnotationsAreSent()
    {
        var webhook = Helm.Render("--set", "iam4kube.podAnnotations=true").Single<V1ValidatingWebhookConfiguration>("iam4kube-validating").Webhooks.Single(w => w.Name == "pods.iam4kube.io");
        V1Pod Pod(Dictionary<string, string>? annotations)
        {
            var pod = KubeObjects.Pod("team-a", "app", ip: null, "app");
            pod.Metadata.Annotations = annotations;
            return pod;
        }

        Assert.True(Matches(webhook, Pod(new() { ["iam.amazonaws.com/role"] = "reader" })));
        Assert.True(Matches(webhook, Pod(new() { ["iam.amazonaws.com/external-id"] = "abc" })));
        Assert.False(Matches(webhook, Pod(null)));
        Assert.False(Matches(webhook, Pod(new() { ["iam.amazonaws.com/roleArn"] = "arn:aws:iam::111122223333:role/x" })));
    }
}
