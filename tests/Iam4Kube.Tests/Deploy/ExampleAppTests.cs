using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Iam4Kube.Testing;
using k8s.Models;

namespace Iam4Kube.Tests.Deploy;

/// <summary>deploy/examples/app.yaml is what users copy: it must be something iam4kube accepts.</summary>
public sealed class ExampleAppTests
{
    [Fact]
    public void ExampleServiceAccountCarriesARoleIam4KubeAccepts()
    {
        var example = ManifestSet.Parse("deploy/examples/app.yaml", rendered: false, File.ReadAllText(Checkout.Combine("deploy", "examples", "app.yaml")));
        var account = Assert.Single(example.All<V1ServiceAccount>());

        var assignment = RoleAnnotations.Parse(new NamespacedName(account.Metadata.NamespaceProperty, account.Metadata.Name), account.Metadata.Annotations);

        var role = Assert.IsType<RoleAssignment.Assigned>(assignment).Role;
        Assert.Equal("arn:aws:iam::111122223333:role/report-writer", role.Arn.Value);
        Assert.NotNull(role.ExternalId);
        // The session name the example's comment promises to show in CloudTrail.
        Assert.Equal("reports@report-writer", role.SessionName);
    }

    [Fact]
    public void ExampleDeploymentRunsAsTheAnnotatedServiceAccountWithNoCredentialsOfItsOwn()
    {
        var example = ManifestSet.Parse("deploy/examples/app.yaml", rendered: false, File.ReadAllText(Checkout.Combine("deploy", "examples", "app.yaml")));
        var account = Assert.Single(example.All<V1ServiceAccount>());
        var deployment = Assert.Single(example.All<V1Deployment>());
        var pod = deployment.Spec.Template.Spec;

        Assert.Equal(account.Metadata.NamespaceProperty, deployment.Metadata.NamespaceProperty);
        Assert.Equal(account.Metadata.Name, pod.ServiceAccountName);
        var environment = pod.Containers.SelectMany(c => c.Env ?? []).Select(e => e.Name).ToList();
        Assert.DoesNotContain(environment, name => name.StartsWith("AWS_ACCESS_KEY", StringComparison.Ordinal) || name.StartsWith("AWS_SECRET", StringComparison.Ordinal)
            || name is "AWS_EC2_METADATA_SERVICE_ENDPOINT" or "AWS_EC2_METADATA_DISABLED" or "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    }
}
