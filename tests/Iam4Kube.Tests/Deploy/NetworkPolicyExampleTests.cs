using Iam4Kube.Testing;
using k8s.Models;

namespace Iam4Kube.Tests.Deploy;

/// <summary>deploy/examples/networkpolicy.yaml lets pods reach iam4kube however their CNI orders NetworkPolicy
/// and ip2service's DNAT, and fits the objects every variant installs.</summary>
public sealed class NetworkPolicyExampleTests
{
    private static readonly ManifestSet Example = ManifestSet.Parse(
        "deploy/examples/networkpolicy.yaml", rendered: false, File.ReadAllText(Checkout.Combine("deploy", "examples", "networkpolicy.yaml")));

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void ApplicationEgressAllowsTheMetadataAddressAndIam4KubesPods(string variant)
    {
        var manifests = Manifests.Load(variant);
        var policy = Example.Single<V1NetworkPolicy>("allow-instance-metadata-via-iam4kube");
        var podLabels = manifests.Iam4KubeDeployment.Spec.Template.Metadata.Labels;
        var listen = Iam4KubeDeploymentTests.ParseArguments(manifests.Iam4KubeContainer).Listen.Port;

        Assert.Equal(["Egress"], policy.Spec.PolicyTypes);
        // Before the DNAT (CNIs that evaluate egress on the pod's own interface, before nat PREROUTING).
        Assert.Contains(policy.Spec.Egress, rule =>
            rule.To.Any(peer => peer.IpBlock?.Cidr == "169.254.169.254/32") && rule.Ports.Any(p => p.Port.Value == "80" && p.Protocol == "TCP"));
        // After the DNAT (CNIs that evaluate it in the node's forwarding path).
        Assert.Contains(policy.Spec.Egress, rule =>
            rule.To.Any(peer =>
                peer.NamespaceSelector?.MatchLabels is { } namespaces
                && namespaces.TryGetValue("kubernetes.io/metadata.name", out var ns) && ns == ManifestSet.Namespace
                && peer.PodSelector?.MatchLabels is { Count: > 0 } selector
                && selector.All(label => podLabels.TryGetValue(label.Key, out var value) && value == label.Value))
            && rule.Ports.Any(p => p.Port.Value == listen.ToString(System.Globalization.CultureInfo.InvariantCulture) && p.Protocol == "TCP"));
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void Iam4KubeIngressAdmitsEveryNamespaceOnTheMetadataPort(string variant)
    {
        var manifests = Manifests.Load(variant);
        var policy = Example.Single<V1NetworkPolicy>("iam4kube");
        var listen = Iam4KubeDeploymentTests.ParseArguments(manifests.Iam4KubeContainer).Listen.Port;

        Assert.Equal(ManifestSet.Namespace, policy.Metadata.NamespaceProperty);
        Iam4KubeDeploymentTests.AssertSelects(policy.Spec.PodSelector.MatchLabels, manifests.Iam4KubeDeployment.Spec.Template.Metadata.Labels, "the iam4kube NetworkPolicy");
        Assert.Contains(policy.Spec.Ingress, rule =>
            rule.FromProperty.Any(peer => peer.NamespaceSelector is { MatchLabels: null or { Count: 0 }, MatchExpressions: null or { Count: 0 } } && peer.PodSelector is null)
            && rule.Ports.Any(p => p.Port.Value == listen.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        // iam4kube itself needs its node's metadata service for the node role's credentials.
        Assert.Contains(policy.Spec.Egress, rule => rule.To.Any(peer => peer.IpBlock?.Cidr == "169.254.169.254/32"));
    }
}
