using System.Text.Json.Nodes;
using Iam4Kube.Testing;
using k8s;
using k8s.Models;

namespace Iam4Kube.Tests.Deploy;

/// <summary>
/// charts/iam4kube, linted and rendered by the real helm binary. Every hardening property the manifest tests check
/// holds for the chart too: <see cref="Manifests.Variants"/> includes it, so those tests run on it unchanged. Here:
/// what only a chart has (lint, schema, required region, values) and its parity with the production overlay.
/// </summary>
public sealed class ChartTests
{
    [Fact]
    public void PassesHelmLintStrict()
    {
        var result = Helm.Run("lint", "--strict", Checkout.Combine("charts", "iam4kube"), "--set", $"region={Helm.TestRegion}");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("0 chart(s) failed", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultValuesRenderTheSameObjectsAsTheProductionOverlay()
    {
        // The production overlay's region is the operator's to set, as the chart's is: both get the same one.
        var overlay = ProductionOverlayWithRegion(Helm.TestRegion);
        var chart = Helm.Render();

        var expected = ByIdentity(overlay);
        var actual = ByIdentity(chart);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (identity, json) in expected)
        {
            var difference = FirstDifference(json, actual[identity], "");
            Assert.True(difference is null, $"{identity} differs between the production overlay and the chart at {difference}");
        }
    }

    [Fact]
    public void RegionIsRequired()
    {
        var result = Helm.Run("template", "iam4kube", Checkout.Combine("charts", "iam4kube"), "--namespace", ManifestSet.Namespace);

        Assert.False(result.Succeeded, "the chart rendered without a region");
        Assert.Contains("region is required", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangingTheRegionRenamesTheConfigMapSoThatTheDeploymentRolls()
    {
        var first = Helm.Render();
        var second = Helm.Render("--set", "region=ap-southeast-2");

        var firstName = ConfigMapName(first);
        var secondName = ConfigMapName(second);
        Assert.NotEqual(firstName, secondName);
        Assert.Equal("ap-southeast-2", second.Single<V1ConfigMap>(secondName).Data["AWS_REGION"]);
    }

    [Theory]
    [InlineData("iam4kube.replicas=three", "at '/iam4kube/replicas': got string, want integer")]
    [InlineData("namespace.create=yes", "at '/namespace/create': got string, want boolean")]
    [InlineData("ip2service.interceptPort=http", "at '/ip2service/interceptPort': got string, want null or integer")]
    [InlineData("sts.rate=fast", "at '/sts/rate'")]
    [InlineData("region=Ireland", "at '/region'")]
    [InlineData("iam4kube.replicsa=3", "additional properties 'replicsa' not allowed")]
    [InlineData("validatingWebhook.enabled=maybe", "at '/validatingWebhook/enabled': got string, want boolean")]
    [InlineData("iam4kube.podAnnotations=1", "at '/iam4kube/podAnnotations': got number, want boolean")]
    public void SchemaRejectsAWrongValueWithAMessageNamingIt(string setting, string message)
    {
        var template = Helm.Template("--set", setting);
        var lint = Helm.Run("lint", "--strict", Checkout.Combine("charts", "iam4kube"), "--set", $"region={Helm.TestRegion}", "--set", setting);

        Assert.False(template.Succeeded, $"helm template accepted {setting}");
        Assert.Contains(message, template.StandardError, StringComparison.Ordinal);
        Assert.False(lint.Succeeded, $"helm lint accepted {setting}");
        Assert.Contains(message, lint.StandardOutput + lint.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void ADisruptionBudgetThatWouldBlockEveryDrainIsRefused()
    {
        var result = Helm.Template("--set", "iam4kube.replicas=2", "--set", "iam4kube.minAvailable=2");

        Assert.False(result.Succeeded);
        Assert.Contains("iam4kube.minAvailable (2) must be below iam4kube.replicas (2)", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void ValuesBecomeArgumentsBothBinariesAccept()
    {
        var manifests = Helm.Render(
            "--set", "sts.endpoint=https://sts.eu-west-1.amazonaws.com",
            "--set", "sts.rate=2.5",
            "--set", "sts.burst=5",
            "--set", "sts.sessionDuration=2h",
            "--set", "iam4kube.waitTimeout=10s",
            "--set", "iam4kube.maxParked=500",
            "--set", "iam4kube.logLevel=debug",
            "--set", "iam4kube.replicas=4",
            "--set", "iam4kube.namespaceRestrictions=true",
            "--set", "iam4kube.allowedRoles={arn:aws:iam::111122223333:role/apps/*,reader}",
            "--set", "iam4kube.podAnnotations=true",
            "--set", "iam4kube.baseRoleArn=arn:aws:iam::111122223333:role/k8s/",
            "--set", "iam4kube.defaultRole=fallback",
            "--set", "ip2service.excludeIps={10.0.0.7,10.0.0.8}",
            "--set", "ip2service.iptablesBackend=nft",
            "--set", "ip2service.logLevel=warning",
            "--set", "image.digest=sha256:" + new string('a', 64));

        var options = Iam4KubeDeploymentTests.ParseArguments(manifests.Iam4KubeContainer);
        Assert.Equal("https://sts.eu-west-1.amazonaws.com", options.StsEndpoint);
        Assert.Equal(2.5, options.StsRate);
        Assert.Equal(5, options.StsBurst);
        Assert.Equal(TimeSpan.FromHours(2), options.SessionDuration);
        Assert.Equal(TimeSpan.FromSeconds(10), options.WaitTimeout);
        Assert.Equal(500, options.MaxParkedRequests);
        Assert.True(options.NamespaceRestrictions);
        Assert.Equal(["arn:aws:iam::111122223333:role/apps/*", "reader"], options.AllowedRoles);
        Assert.True(options.PodAnnotations);
        Assert.Equal("arn:aws:iam::111122223333:role/k8s/", options.BaseRoleArn);
        Assert.Equal("fallback", options.DefaultRole);
        Assert.Equal(4, manifests.Iam4KubeDeployment.Spec.Replicas);
        var ip2service = manifests.Ip2ServiceContainer.Args;
        Assert.Contains("--exclude-ip=10.0.0.7", ip2service);
        Assert.Contains("--exclude-ip=10.0.0.8", ip2service);
        Assert.Contains("--iptables-backend=nft", ip2service);
        Assert.Contains("--log-level=warning", ip2service);
        Assert.Equal("registry.example.com/platform/iam4kube@sha256:" + new string('a', 64), manifests.Ip2ServiceContainer.Image);
        Assert.Equal(manifests.Ip2ServiceContainer.Image, manifests.Iam4KubeContainer.Image);
    }

    [Fact]
    public void CompatibilityModeAddsThePodsWebhookNextToTheServiceAccountsOne()
    {
        var manifests = Helm.Render("--set", "iam4kube.podAnnotations=true");

        var webhooks = manifests.Single<V1ValidatingWebhookConfiguration>("iam4kube-validating").Webhooks;
        Assert.Equal(["serviceaccounts.iam4kube.io", "pods.iam4kube.io"], webhooks.Select(w => w.Name));
        var pods = webhooks[1];
        Assert.Equal(("Ignore", "None"), (pods.FailurePolicy, pods.SideEffects));
        Assert.Equal(("iam4kube", ManifestSet.Namespace, "/validate/pods"), (pods.ClientConfig.Service.Name, pods.ClientConfig.Service.NamespaceProperty, pods.ClientConfig.Service.Path));
        var rule = Assert.Single(pods.Rules);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["CREATE", "UPDATE"], rule.Operations);
        Assert.Equal(webhooks[0].NamespaceSelector.MatchExpressions[0].Values, pods.NamespaceSelector.MatchExpressions[0].Values);
        Assert.Contains("'iam.amazonaws.com/role'", Assert.Single(pods.MatchConditions).Expression, StringComparison.Ordinal);
    }

    [Fact]
    public void TheValidatingWebhookCanBeTurnedOffAndThenIam4KubeNeitherKeepsNorMayReadIt()
    {
        var manifests = Helm.Render("--set", "validatingWebhook.enabled=false");

        Assert.Empty(manifests.All<V1ValidatingWebhookConfiguration>());
        Assert.Equal("", Iam4KubeDeploymentTests.ParseArguments(manifests.Iam4KubeContainer).ValidatingWebhookConfiguration);
        Assert.DoesNotContain(manifests.Single<V1ClusterRole>("iam4kube").Rules, r => r.Resources.Contains("validatingwebhookconfigurations"));
        Assert.Contains(manifests.Single<V1ClusterRole>("iam4kube").Rules, r => r.Resources.Contains("mutatingwebhookconfigurations"));
    }

    [Fact]
    public void NamespaceCanBeLeftToTheOperator()
    {
        var manifests = Helm.Render("--set", "namespace.create=false");

        Assert.Empty(manifests.All<V1Namespace>());
        Assert.Equal(ManifestSet.Namespace, manifests.Iam4KubeDeployment.Metadata.NamespaceProperty);
    }

    [Fact]
    public void MissingHelmFailsWithAHintToRunTestShRatherThanSkipping()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-helm-{Guid.NewGuid():N}");

        var error = Assert.Throws<Xunit.Sdk.XunitException>(() => Helm.Find([missing]));

        Assert.Contains("helm is not installed", error.Message, StringComparison.Ordinal);
        Assert.Contains("./test.sh", error.Message, StringComparison.Ordinal);
    }

    /// <summary>deploy/overlays/production, with its region replaced the way an operator's own overlay on top of
    /// it would: a kustomization in a temporary folder that merges AWS_REGION into the generated ConfigMap.</summary>
    private static ManifestSet ProductionOverlayWithRegion(string region)
    {
        var folder = Directory.CreateTempSubdirectory("iam4kube-overlay-");
        try
        {
            // Kustomize refuses absolute resource paths.
            var production = Path.GetRelativePath(folder.FullName, Checkout.Combine("deploy", "overlays", "production"));
            File.WriteAllText(Path.Combine(folder.FullName, "kustomization.yaml"), $"""
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - {production}
                configMapGenerator:
                  - name: iam4kube-config
                    behavior: merge
                    literals:
                      - AWS_REGION={region}
                """);
            return ManifestSet.Parse($"deploy/overlays/production (AWS_REGION={region})", rendered: true, Kustomize.Render(folder.FullName));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string ConfigMapName(ManifestSet manifests) =>
        Assert.Single(manifests.Iam4KubeContainer.Env, e => e.Name == "AWS_REGION").ValueFrom.ConfigMapKeyRef.Name;

    /// <summary>Each object as the API would receive it (the typed model serialized), keyed by kind, namespace
    /// and name: comments, order, quoting and YAML spelling do not count, every field does.</summary>
    private static Dictionary<string, JsonNode> ByIdentity(ManifestSet manifests) =>
        manifests.Objects.OfType<IKubernetesObject<V1ObjectMeta>>().ToDictionary(
            o => $"{o.Kind} {o.Metadata.NamespaceProperty}/{o.Metadata.Name}",
            o => JsonNode.Parse(KubernetesJson.Serialize(o))!);

    /// <summary>The JSON path of the first difference, or null when equal.</summary>
    private static string? FirstDifference(JsonNode? expected, JsonNode? actual, string path)
    {
        switch (expected, actual)
        {
            case (JsonObject e, JsonObject a):
                foreach (var key in e.Select(p => p.Key).Union(a.Select(p => p.Key)))
                {
                    if (FirstDifference(e[key], a[key], $"{path}.{key}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case (JsonArray e, JsonArray a):
                if (e.Count != a.Count)
                {
                    return $"{path}: {e.Count} items in the overlay, {a.Count} in the chart";
                }

                return Enumerable.Range(0, e.Count).Select(i => FirstDifference(e[i], a[i], $"{path}[{i}]")).FirstOrDefault(d => d is not null);
            default:
                return JsonNode.DeepEquals(expected, actual)
                    ? null
                    : $"{path}: overlay {expected?.ToJsonString() ?? "(absent)"}, chart {actual?.ToJsonString() ?? "(absent)"}";
        }
    }
}
