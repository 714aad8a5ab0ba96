using Iam4Kube.Testing;
using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace Iam4Kube.Tests.Deploy;

/// <summary>The Kustomize layout itself: nothing forgotten, every overlay renders, and what each overlay changes.</summary>
public sealed class KustomizationTests
{
    [Fact]
    public void EveryFileInTheBaseIsAResourceOfItsKustomization()
    {
        var kustomization = new YamlStream();
        kustomization.Load(new StringReader(File.ReadAllText(Checkout.Combine("deploy", "base", "kustomization.yaml"))));
        var root = (YamlMappingNode)kustomization.Documents[0].RootNode;
        var resources = ((YamlSequenceNode)root.Children[new YamlScalarNode("resources")]).Children
            .Select(node => ((YamlScalarNode)node).Value!)
            .Order(StringComparer.Ordinal);

        Assert.Equal(Manifests.BaseFileNames(), resources);
    }

    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public void OverlayRendersWithKubectlKustomize(string overlay)
    {
        var manifests = Manifests.Load(overlay);

        Assert.NotEmpty(manifests.Objects);
        _ = manifests.Iam4KubeDeployment;
        _ = manifests.Ip2ServiceDaemonSet;
        _ = manifests.Iam4KubeService;
    }

    [Fact]
    public void MissingKubectlFailsWithAnInstallHintRatherThanSkipping()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-kubectl-{Guid.NewGuid():N}");

        var error = Assert.Throws<Xunit.Sdk.XunitException>(() => Kustomize.Render(Checkout.Combine("deploy", "base"), [missing]));

        Assert.Contains("kubectl is not installed", error.Message, StringComparison.Ordinal);
        Assert.Contains("./scripts/fetch-tools.sh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void AKubectlTooOldForTheOverlaysIsRefusedNamingTheMinimumRatherThanUsed()
    {
        // Debian 12's kubernetes-client: kubectl 1.20, whose kustomize cannot read the overlays.
        var folder = Directory.CreateTempSubdirectory("old-kubectl-").FullName;
        try
        {
            var kubectl = Path.Combine(folder, "kubectl");
            File.WriteAllText(kubectl, "#!/bin/sh\necho '{\"clientVersion\": {\"major\": \"1\", \"minor\": \"20\", \"gitVersion\": \"v1.20.2\"}}'\n");
            File.SetUnixFileMode(kubectl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            var error = Assert.Throws<Xunit.Sdk.XunitException>(() => Kustomize.Render(Checkout.Combine("deploy", "base"), [folder]));

            Assert.Contains("is kubectl 1.20; the overlays need kubectl 1.22 or newer", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("README.md")]
    [InlineData("docs/operations.md")]
    public void TheDocumentationStatesTheMinimumKubectlTheTestsEnforce(string document)
    {
        var text = File.ReadAllText(Checkout.Combine(document.Split('/')));

        Assert.Contains($"kubectl {Kustomize.MinimumKubectl} or newer", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ThereAreProductionAndDevOverlays()
    {
        var overlays = Manifests.OverlayNames().ToList();

        Assert.Contains("deploy/overlays/production", overlays);
        Assert.Contains("deploy/overlays/dev", overlays);
    }

    [Fact]
    public void ProductionRunsThreeReplicasAndKeepsTwoThroughANodeDrain()
    {
        var manifests = Manifests.Load("deploy/overlays/production");

        Assert.Equal(3, manifests.Iam4KubeDeployment.Spec.Replicas);
        Assert.Equal("2", manifests.Single<V1PodDisruptionBudget>("iam4kube").Spec.MinAvailable.Value);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void EveryNamespacedObjectIsInTheIam4KubeNamespaceWhichAdmitsTheDaemonSet(string variant)
    {
        var manifests = Manifests.Load(variant);

        var ns = manifests.Single<V1Namespace>(ManifestSet.Namespace);
        Assert.Equal("privileged", ns.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        foreach (var item in manifests.Objects.OfType<IKubernetesObject<V1ObjectMeta>>())
        {
            if (item is V1Namespace or V1ClusterRole or V1ClusterRoleBinding or V1MutatingWebhookConfiguration or V1ValidatingWebhookConfiguration or V1ValidatingAdmissionPolicy or V1ValidatingAdmissionPolicyBinding)
            {
                continue;
            }

            Assert.True(
                item.Metadata.NamespaceProperty == ManifestSet.Namespace,
                $"{variant}: {item.Kind} {item.Metadata.Name} is in namespace \"{item.Metadata.NamespaceProperty}\"");
        }
    }

    [Theory]
    [MemberData(nameof(Manifests.Installable), MemberType = typeof(Manifests))]
    public void BothWorkloadsRunTheSamePinnedImage(string overlay)
    {
        var manifests = Manifests.Load(overlay);
        var image = manifests.Iam4KubeContainer.Image;

        Assert.Equal(image, manifests.Ip2ServiceContainer.Image);
        var name = image.Split('/')[^1];
        Assert.True(
            image.Contains("@sha256:", StringComparison.Ordinal) || (name.Contains(':', StringComparison.Ordinal) && !name.EndsWith(":latest", StringComparison.Ordinal)),
            $"{overlay}: image \"{image}\" is not pinned to a tag or digest");
        Assert.DoesNotContain("set-in-an-overlay", image, StringComparison.Ordinal);
    }
}
