using System.Globalization;
using System.Text.RegularExpressions;
using Iam4Kube.Hosting;
using k8s.Models;

namespace Iam4Kube.Tests.Deploy;

/// <summary>The iam4kube Deployment, its Service and its PodDisruptionBudget, in every variant.</summary>
public sealed class Iam4KubeDeploymentTests
{
    private const string StsAllowedLabel = "iam4kube.io/sts-allowed";

    /// <summary>Time for the process to exit and the kubelet to notice, on top of the drain.</summary>
    private static readonly TimeSpan ExitMargin = TimeSpan.FromSeconds(5);

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void RunsAtLeastTwoReplicas(string variant)
    {
        var deployment = Manifests.Load(variant).Iam4KubeDeployment;

        Assert.True(deployment.Spec.Replicas >= 2, $"{variant}: {deployment.Spec.Replicas} replicas; a single replica makes every rollout and node drain an outage");
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void RolloutStartsANewReplicaBeforeStoppingAnOldOne(string variant)
    {
        var strategy = Manifests.Load(variant).Iam4KubeDeployment.Spec.Strategy;

        Assert.Equal("RollingUpdate", strategy.Type);
        Assert.Contains(strategy.RollingUpdate.MaxUnavailable?.Value, new[] { "0", "0%" });
        Assert.Equal("1", strategy.RollingUpdate.MaxSurge?.Value);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void ArgumentsAreAcceptedByIam4KubesCommandLine(string variant)
    {
        var options = ParseArguments(Manifests.Load(variant).Iam4KubeContainer);

        Assert.Equal(8080, options.Listen.Port);
        Assert.Equal(9090, options.AdminListen.Port);
        Assert.NotNull(options.TokenKeyFile);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void ReadinessIsReadyzAndLivenessIsHealthzOnTheAdminListener(string variant)
    {
        var container = Manifests.Load(variant).Iam4KubeContainer;
        var adminPort = ParseArguments(container).AdminListen.Port;

        Assert.Equal("/readyz", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal(adminPort, ContainerPort(container, container.ReadinessProbe.HttpGet.Port));
        Assert.Equal("/healthz", container.LivenessProbe.HttpGet.Path);
        Assert.Equal(adminPort, ContainerPort(container, container.LivenessProbe.HttpGet.Port));
        // Readiness must notice quickly; liveness must not kill a replica for one slow answer.
        Assert.True(container.ReadinessProbe.PeriodSeconds <= 5, $"{variant}: readiness checked every {container.ReadinessProbe.PeriodSeconds} s");
        Assert.True((container.LivenessProbe.FailureThreshold ?? 3) >= 3, $"{variant}: liveness gives up after {container.LivenessProbe.FailureThreshold} failures");
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void ServiceIsAClusterIpWhosePortNamedHttpReachesTheMetadataListener(string variant)
    {
        var manifests = Manifests.Load(variant);
        var service = manifests.Iam4KubeService;
        var container = manifests.Iam4KubeContainer;
        var options = ParseArguments(container);

        Assert.Equal("ClusterIP", service.Spec.Type ?? "ClusterIP");
        AssertSelects(service.Spec.Selector, manifests.Iam4KubeDeployment.Spec.Template.Metadata.Labels, $"{variant}: the Service");
        var http = Assert.Single(service.Spec.Ports, p => p.Name == "http");
        Assert.Equal(options.Listen.Port, ContainerPort(container, http.TargetPort ?? http.Port));
        Assert.Equal("TCP", http.Protocol ?? "TCP");
        var metrics = Assert.Single(service.Spec.Ports, p => p.Name == "metrics");
        Assert.Equal(options.AdminListen.Port, ContainerPort(container, metrics.TargetPort ?? metrics.Port));
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void TheTokenDoorAndTheWebhookHaveTheirServicePortsAndTheWebhookCanMissPodsSafely(string variant)
    {
        var manifests = Manifests.Load(variant);
        var service = manifests.Iam4KubeService;
        var container = manifests.Iam4KubeContainer;
        var options = ParseArguments(container);

        var podIdentity = Assert.Single(service.Spec.Ports, p => p.Name == "pod-identity");
        Assert.Equal(8081, podIdentity.Port);
        Assert.Equal(options.TokenListen!.Port, ContainerPort(container, podIdentity.TargetPort));
        var webhookPort = Assert.Single(service.Spec.Ports, p => p.Name == "webhook");
        Assert.Equal(443, webhookPort.Port);
        Assert.Equal(options.WebhookListen!.Port, ContainerPort(container, webhookPort.TargetPort));
        Assert.Contains(container.Env, e => e.Name == "POD_NAMESPACE" && e.ValueFrom?.FieldRef?.FieldPath == "metadata.namespace");

        var webhook = Assert.Single(manifests.Single<V1MutatingWebhookConfiguration>("iam4kube").Webhooks);
        Assert.Equal("Ignore", webhook.FailurePolicy);
        Assert.Equal("IfNeeded", webhook.ReinvocationPolicy);
        Assert.Equal(("iam4kube", ManifestSet.Namespace, "/mutate/pods", 443),
            (webhook.ClientConfig.Service.Name, webhook.ClientConfig.Service.NamespaceProperty, webhook.ClientConfig.Service.Path, webhook.ClientConfig.Service.Port ?? 443));
        var exclusion = Assert.Single(webhook.NamespaceSelector.MatchExpressions);
        Assert.Equal(("kubernetes.io/metadata.name", "NotIn"), (exclusion.Key, exclusion.OperatorProperty));
        Assert.Equal([ManifestSet.Namespace], exclusion.Values);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void TheValidatingWebhookSeesOnlyAnnotatedServiceAccountsOutsideKubeSystemAndCanMissThemSafely(string variant)
    {
        var manifests = Manifests.Load(variant);
        var options = ParseArguments(manifests.Iam4KubeContainer);

        var configuration = manifests.Single<V1ValidatingWebhookConfiguration>("iam4kube-validating");
        Assert.Equal(configuration.Metadata.Name, options.ValidatingWebhookConfiguration);
        Assert.Null(configuration.Metadata.NamespaceProperty);
        // Compatibility mode (and its pods webhook) is off by default.
        var webhook = Assert.Single(configuration.Webhooks);
        Assert.Equal("serviceaccounts.iam4kube.io", webhook.Name);
        Assert.Equal(("Ignore", "None", "Equivalent"), (webhook.FailurePolicy, webhook.SideEffects, webhook.MatchPolicy));
        Assert.Equal(["v1"], webhook.AdmissionReviewVersions);
        Assert.InRange(webhook.TimeoutSeconds ?? 10, 1, 5);
        Assert.Null(webhook.ClientConfig.CaBundle);
        Assert.Equal(("iam4kube", ManifestSet.Namespace, "/validate/serviceaccounts", 443),
            (webhook.ClientConfig.Service.Name, webhook.ClientConfig.Service.NamespaceProperty, webhook.ClientConfig.Service.Path, webhook.ClientConfig.Service.Port ?? 443));
        var rule = Assert.Single(webhook.Rules);
        Assert.Equal([""], rule.ApiGroups);
        Assert.Equal(["v1"], rule.ApiVersions);
        Assert.Equal(["serviceaccounts"], rule.Resources);
        Assert.Equal(["CREATE", "UPDATE"], rule.Operations);
        Assert.Equal("Namespaced", rule.Scope);
        var exclusion = Assert.Single(webhook.NamespaceSelector.MatchExpressions);
        Assert.Equal(("kubernetes.io/metadata.name", "NotIn"), (exclusion.Key, exclusion.OperatorProperty));
        Assert.Equal(["kube-system", ManifestSet.Namespace], exclusion.Values);
        var condition = Assert.Single(webhook.MatchConditions).Expression;
        foreach (var annotation in new[] { "iam.amazonaws.com/roleArn", "iam.amazonaws.com/roleExternalId", "iam.amazonaws.com/sessionDuration" })
        {
            Assert.Contains($"'{annotation}'", condition, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void DisruptionBudgetKeepsAReplicaUpAndStillLetsANodeDrain(string variant)
    {
        var manifests = Manifests.Load(variant);
        var budget = manifests.Single<V1PodDisruptionBudget>("iam4kube");
        var deployment = manifests.Iam4KubeDeployment;

        Assert.Null(budget.Spec.MaxUnavailable);
        var minAvailable = int.Parse(budget.Spec.MinAvailable.Value, CultureInfo.InvariantCulture);
        Assert.True(minAvailable >= 1, $"{variant}: minAvailable {minAvailable}");
        Assert.True(minAvailable < deployment.Spec.Replicas, $"{variant}: minAvailable {minAvailable} with {deployment.Spec.Replicas} replicas would block every node drain");
        AssertSelects(budget.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels, $"{variant}: the PodDisruptionBudget");
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void ReplicasSpreadOverNodesStrictlyAndOverZonesWhenPossible(string variant)
    {
        var deployment = Manifests.Load(variant).Iam4KubeDeployment;
        var constraints = deployment.Spec.Template.Spec.TopologySpreadConstraints;
        var podLabels = deployment.Spec.Template.Metadata.Labels;

        var nodes = Assert.Single(constraints, c => c.TopologyKey == "kubernetes.io/hostname");
        var zones = Assert.Single(constraints, c => c.TopologyKey == "topology.kubernetes.io/zone");
        Assert.Equal("DoNotSchedule", nodes.WhenUnsatisfiable);
        Assert.Equal(1, nodes.MaxSkew);
        Assert.Equal(1, zones.MaxSkew);
        foreach (var constraint in new[] { nodes, zones })
        {
            AssertSelects(constraint.LabelSelector.MatchLabels, podLabels, $"{variant}: the {constraint.TopologyKey} spread");
            Assert.Contains("pod-template-hash", constraint.MatchLabelKeys ?? []);
        }
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void RunsOnlyOnNodesAllowedToCallStsAndToleratesTheirTaint(string variant)
    {
        var pod = Manifests.Load(variant).Iam4KubeDeployment.Spec.Template.Spec;

        Assert.Equal("true", pod.NodeSelector[StsAllowedLabel]);
        var toleration = Assert.Single(pod.Tolerations, t => t.Key == StsAllowedLabel);
        Assert.Equal(("Equal", "true", "NoSchedule"), (toleration.OperatorProperty, toleration.Value, toleration.Effect));
        Assert.DoesNotContain(pod.Tolerations, t => t.Key is null && t.OperatorProperty == "Exists");
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void RunsAsNonRootWithAReadOnlyRootAndNoCapabilities(string variant)
    {
        var pod = Manifests.Load(variant).Iam4KubeDeployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);

        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.NotNull(container.SecurityContext);
        Assert.NotEqual(0, container.SecurityContext.RunAsUser ?? pod.SecurityContext.RunAsUser ?? 0);
        Assert.Equal("RuntimeDefault", (container.SecurityContext.SeccompProfile ?? pod.SecurityContext.SeccompProfile)?.Type);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.NotEqual(true, container.SecurityContext.Privileged);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.True(container.SecurityContext.Capabilities.Add is null or { Count: 0 }, $"{variant}: iam4kube adds capabilities");
        Assert.NotEqual(true, pod.HostNetwork);
        Assert.NotEqual(true, pod.HostPID);
        Assert.NotEqual(true, pod.HostIPC);
        Assert.DoesNotContain(pod.Volumes ?? [], v => v.HostPath is not null);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void RequestsCpuAndMemoryAndLimitsMemory(string variant)
    {
        var resources = Manifests.Load(variant).Iam4KubeContainer.Resources;

        Assert.True(resources.Requests.ContainsKey("cpu"), $"{variant}: no CPU request");
        Assert.True(resources.Requests.ContainsKey("memory"), $"{variant}: no memory request");
        Assert.True(resources.Limits.ContainsKey("memory"), $"{variant}: no memory limit");
        Assert.True(resources.Requests["memory"].ToDecimal() <= resources.Limits["memory"].ToDecimal(), $"{variant}: memory request above the limit");
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void GracePeriodCoversTheShutdownDelayAndTheDrain(string variant)
    {
        var deployment = Manifests.Load(variant).Iam4KubeDeployment;
        var options = ParseArguments(Assert.Single(deployment.Spec.Template.Spec.Containers));
        var grace = TimeSpan.FromSeconds(deployment.Spec.Template.Spec.TerminationGracePeriodSeconds ?? 30);

        Assert.True(grace >= TimeSpan.FromSeconds(30), $"{variant}: grace period {grace.TotalSeconds} s");
        Assert.True(
            grace >= options.ShutdownDelay + options.DrainTimeout + ExitMargin,
            $"{variant}: grace period {grace.TotalSeconds} s does not cover --shutdown-delay {options.ShutdownDelay.TotalSeconds} s + --drain-timeout {options.DrainTimeout.TotalSeconds} s + {ExitMargin.TotalSeconds} s to exit; the kubelet would kill requests mid-drain");
        // The binary handles SIGTERM; a preStop hook would only delay it.
        Assert.Null(deployment.Spec.Template.Spec.Containers[0].Lifecycle?.PreStop);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void TokenKeyComesFromAnOptionalSecretMountedWhereTheFlagPoints(string variant)
    {
        var pod = Manifests.Load(variant).Iam4KubeDeployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        var keyFile = ParseArguments(container).TokenKeyFile!;

        var volume = Assert.Single(pod.Volumes, v => v.Secret?.SecretName == "iam4kube-token-key");
        Assert.True(volume.Secret.Optional);
        var mount = Assert.Single(container.VolumeMounts, m => m.Name == volume.Name);
        Assert.True(mount.ReadOnlyProperty);
        var item = Assert.Single(volume.Secret.Items);
        Assert.Equal("key", item.Key);
        Assert.Equal(keyFile, $"{mount.MountPath.TrimEnd('/')}/{item.Path}");
        // Readable by iam4kube's group, by nobody else.
        Assert.Equal(0, (volume.Secret.DefaultMode ?? 420) & 0b000_000_111);
        Assert.Equal(pod.SecurityContext.RunAsGroup ?? pod.SecurityContext.RunAsUser, pod.SecurityContext.FsGroup);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void AwsRegionComesFromTheIam4KubeConfigMap(string variant)
    {
        var manifests = Manifests.Load(variant);
        var env = Assert.Single(manifests.Iam4KubeContainer.Env, e => e.Name == "AWS_REGION");
        var reference = env.ValueFrom.ConfigMapKeyRef;

        Assert.Equal("AWS_REGION", reference.Key);
        Assert.NotEqual(true, reference.Optional);
        if (manifests.Rendered)
        {
            var configMap = manifests.Single<V1ConfigMap>(reference.Name);
            var region = configMap.Data["AWS_REGION"];
            if (variant == "deploy/overlays/production")
            {
                // Production ships a placeholder, so that nobody runs it in another team's region by accident;
                // iam4kube refuses to start until it is replaced, with a line that says where.
                Assert.Equal(Iam4KubeOptionsValidator.RegionPlaceholder, region);
                var refused = CommandLine.Parse([], name => name == "AWS_REGION" ? region : null).Errors;
                Assert.Contains(refused, e => e.StartsWith($"AWS_REGION is still {Iam4KubeOptionsValidator.RegionPlaceholder}", StringComparison.Ordinal));
            }
            else
            {
                Assert.Matches(new Regex("^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$"), region);
            }
        }
        else
        {
            Assert.Equal("iam4kube-config", reference.Name);
        }
    }

    /// <summary>Parses the container's arguments with iam4kube's own command line, so a misspelt flag or an
    /// invalid value fails here rather than in a crash-looping pod. The token key file does not exist on the test
    /// machine, so it is pointed at a temporary one for the parse.</summary>
    internal static Iam4KubeOptions ParseArguments(V1Container container)
    {
        Assert.Equal(["/app/iam4kube/iam4kube"], container.Command);
        var keyFile = Path.GetTempFileName();
        try
        {
            string? declaredKeyFile = null;
            var args = new List<string>();
            for (var i = 0; i < container.Args.Count; i++)
            {
                var arg = container.Args[i];
                if (arg.StartsWith("--token-key-file=", StringComparison.Ordinal))
                {
                    declaredKeyFile = arg["--token-key-file=".Length..];
                    arg = $"--token-key-file={keyFile}";
                }
                else if (arg == "--token-key-file" && i + 1 < container.Args.Count)
                {
                    declaredKeyFile = container.Args[++i];
                    arg = $"--token-key-file={keyFile}";
                }

                args.Add(arg);
            }

            var result = CommandLine.Parse(args, _ => null);
            Assert.True(result.Errors.Count == 0, $"iam4kube rejects its arguments: {string.Join("; ", result.Errors)}");
            Assert.NotNull(result.Options);
            return result.Options with { TokenKeyFile = declaredKeyFile };
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    /// <summary>A non-empty selector whose every label the pods carry.</summary>
    internal static void AssertSelects(IDictionary<string, string>? selector, IDictionary<string, string> labels, string what)
    {
        Assert.True(selector is { Count: > 0 }, $"{what} selects nothing");
        foreach (var (key, value) in selector)
        {
            Assert.True(labels.TryGetValue(key, out var actual) && actual == value, $"{what} selects {key}={value}, which the pods do not carry");
        }
    }

    internal static int ContainerPort(V1Container container, IntOrString port) =>
        int.TryParse(port.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : Assert.Single(container.Ports, p => p.Name == port.Value).ContainerPort;
}
