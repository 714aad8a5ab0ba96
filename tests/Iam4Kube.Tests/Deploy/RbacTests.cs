using k8s.Models;

namespace Iam4Kube.Tests.Deploy;

/// <summary>Least privilege, exactly: a rule added "just in case" fails here and has to be argued for.</summary>
public sealed class RbacTests
{
    private static readonly HashSet<(string Group, string Resource, string Verb)> Iam4KubePermissions =
    [
        ("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch"),
        ("", "serviceaccounts", "get"), ("", "serviceaccounts", "list"), ("", "serviceaccounts", "watch"),
        ("", "nodes", "get"), ("", "nodes", "list"), ("", "nodes", "watch"),
        ("", "namespaces", "list"), ("", "namespaces", "watch"),
        ("", "events", "create"), ("", "events", "patch"),
        ("events.k8s.io", "events", "create"), ("events.k8s.io", "events", "patch"),
        ("authentication.k8s.io", "tokenreviews", "create"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations@iam4kube", "get"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations@iam4kube", "patch"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations@iam4kube-validating", "get"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations@iam4kube-validating", "patch"),
    ];

    /// <summary>In iam4kube's namespace: its webhook's TLS Secret, by name (create cannot be named in RBAC).</summary>
    private static readonly HashSet<(string Group, string Resource, string Verb)> Iam4KubeNamespacePermissions =
    [
        ("", "secrets", "create"),
        ("", "secrets@iam4kube-webhook-tls", "get"),
        ("", "secrets@iam4kube-webhook-tls", "update"),
    ];

    private static readonly HashSet<(string Group, string Resource, string Verb)> Ip2ServicePermissions =
    [
        ("discovery.k8s.io", "endpointslices", "get"),
        ("discovery.k8s.io", "endpointslices", "list"),
        ("discovery.k8s.io", "endpointslices", "watch"),
    ];

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void Iam4KubeMayOnlyReadPodsServiceAccountsAndNodesWriteEventsReviewTokensAndKeepItsNamedWebhookObjects(string variant)
    {
        var manifests = Manifests.Load(variant);

        var role = manifests.Single<V1ClusterRole>("iam4kube");
        var namespaced = manifests.Single<V1Role>("iam4kube");

        Assert.Equal(Iam4KubePermissions.Order(), Permissions(role.Rules, variant).Distinct().Order());
        Assert.Equal(ManifestSet.Namespace, namespaced.Metadata.NamespaceProperty);
        Assert.Equal(Iam4KubeNamespacePermissions.Order(), Permissions(namespaced.Rules, variant).Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void Ip2ServiceMayOnlyReadEndpointSlicesInItsOwnNamespace(string variant)
    {
        var manifests = Manifests.Load(variant);

        var role = manifests.Single<V1Role>("ip2service");

        Assert.Equal(ManifestSet.Namespace, role.Metadata.NamespaceProperty);
        Assert.Equal(Ip2ServicePermissions.Order(), Permissions(role.Rules, variant).Distinct().Order());
        Assert.DoesNotContain(manifests.All<V1ClusterRole>(), r => r.Metadata.Name == "ip2service");
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void Ip2ServiceMayOnlyReadAndPatchNodesAndAnAdmissionPolicyNarrowsThatToItsOwnNodesStartupTaint(string variant)
    {
        var manifests = Manifests.Load(variant);

        var role = manifests.Single<V1ClusterRole>("ip2service-node");
        Assert.Equal([("", "nodes", "get"), ("", "nodes", "patch")], Permissions(role.Rules, variant).Distinct().Order());
        var binding = manifests.Single<V1ClusterRoleBinding>("ip2service-node");
        Assert.Equal(("ClusterRole", "ip2service-node"), (binding.RoleRef.Kind, binding.RoleRef.Name));
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", "ip2service", ManifestSet.Namespace), (subject.Kind, subject.Name, subject.NamespaceProperty));

        var policy = manifests.Single<V1ValidatingAdmissionPolicy>("ip2service-own-node-startup-taint");
        Assert.Equal("Fail", policy.Spec.FailurePolicy);
        var match = Assert.Single(policy.Spec.MatchConditions);
        Assert.Contains($"'system:serviceaccount:{ManifestSet.Namespace}:ip2service'", match.Expression, StringComparison.Ordinal);
        var rule = Assert.Single(policy.Spec.MatchConstraints.ResourceRules);
        Assert.Equal(["nodes"], rule.Resources);
        Assert.Equal(["UPDATE"], rule.Operations);
        Assert.Contains(policy.Spec.Validations, v => v.Expression.Contains("request.userInfo.extra['authentication.kubernetes.io/node-name']", StringComparison.Ordinal));
        Assert.Contains(policy.Spec.Variables, v => v.Expression == "'iam4kube.io/router-not-ready'");
        var policyBinding = manifests.Single<V1ValidatingAdmissionPolicyBinding>("ip2service-own-node-startup-taint");
        Assert.Equal(policy.Metadata.Name, policyBinding.Spec.PolicyName);
        Assert.Equal(["Deny"], policyBinding.Spec.ValidationActions);
    }

    [Theory]
    [MemberData(nameof(Manifests.Variants), MemberType = typeof(Manifests))]
    public void EachRoleIsBoundToItsOwnServiceAccountAndNothingElseIsBound(string variant)
    {
        var manifests = Manifests.Load(variant);

        var clusterBinding = Assert.Single(manifests.All<V1ClusterRoleBinding>(), b => b.Metadata.Name != "ip2service-node");
        Assert.Equal(["iam4kube", "ip2service"], manifests.All<V1RoleBinding>().Select(b => b.Metadata.Name).Order());
        var binding = manifests.Single<V1RoleBinding>("ip2service");
        var iam4kubeBinding = manifests.Single<V1RoleBinding>("iam4kube");
        Assert.Equal(("Role", "iam4kube"), (iam4kubeBinding.RoleRef.Kind, iam4kubeBinding.RoleRef.Name));
        Assert.Equal(("ServiceAccount", "iam4kube", ManifestSet.Namespace),
            (Assert.Single(iam4kubeBinding.Subjects).Kind, iam4kubeBinding.Subjects[0].Name, iam4kubeBinding.Subjects[0].NamespaceProperty));

        Assert.Equal(("ClusterRole", "iam4kube"), (clusterBinding.RoleRef.Kind, clusterBinding.RoleRef.Name));
        var clusterSubject = Assert.Single(clusterBinding.Subjects);
        Assert.Equal(("ServiceAccount", "iam4kube", ManifestSet.Namespace), (clusterSubject.Kind, clusterSubject.Name, clusterSubject.NamespaceProperty));

        Assert.Equal(("Role", "ip2service"), (binding.RoleRef.Kind, binding.RoleRef.Name));
        Assert.Equal(ManifestSet.Namespace, binding.Metadata.NamespaceProperty);
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", "ip2service", ManifestSet.Namespace), (subject.Kind, subject.Name, subject.NamespaceProperty));

        Assert.Equal("iam4kube", manifests.Iam4KubeDeployment.Spec.Template.Spec.ServiceAccountName);
        Assert.Equal("ip2service", manifests.Ip2ServiceDaemonSet.Spec.Template.Spec.ServiceAccountName);
        manifests.Single<V1ServiceAccount>("iam4kube");
        manifests.Single<V1ServiceAccount>("ip2service");
    }

    /// <summary>Rules flattened into (group, resource, verb); a rule limited to resource names yields
    /// <c>resource@name</c> per name, so that the expected sets say exactly which objects. Wildcards and non-resource
    /// URLs are refused outright: each would widen access in a way the triples do not show.</summary>
    private static IEnumerable<(string Group, string Resource, string Verb)> Permissions(IList<V1PolicyRule> rules, string variant)
    {
        foreach (var rule in rules)
        {
            Assert.True(rule.NonResourceURLs is null or { Count: 0 }, $"{variant}: unexpected nonResourceURLs");
            foreach (var group in rule.ApiGroups)
            {
                foreach (var resource in rule.Resources.SelectMany(r => rule.ResourceNames is { Count: > 0 } names ? names.Select(n => $"{r}@{n}") : [r]))
                {
                    foreach (var verb in rule.Verbs)
                    {
                        Assert.True(group != "*" && resource != "*" && verb != "*", $"{variant}: wildcard in an RBAC rule");
                        yield return (group, resource, verb);
                    }
                }
            }
        }
    }
}
