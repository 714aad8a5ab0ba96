using Iam4Kube.LocalMode;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Iam4Kube.Tests.LocalMode;

/// <summary>
/// The cluster file's YAML read into k8s.Models without reflection (NativeAOT): every kind of field a pod holds
/// (strings, numbers, booleans, timestamps, quantities, int-or-string ports, base64, lists and maps) arrives as
/// kubectl would read it, and a value of the wrong kind is refused at its own node.
/// </summary>
public sealed class YamlModelReaderTests
{
    private static YamlNode Root(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents[0].RootNode;
    }

    [Fact]
    public void ReadsEveryKindOfFieldOfAPodWithItsJsonName()
    {
        var pod = YamlModelReader.Read(Root("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: app
              namespace: reports
              creationTimestamp: "2026-11-30T10:00:00Z"
              labels:
                version: 1
            spec:
              hostNetwork: false
              terminationGracePeriodSeconds: 30
              containers:
                - name: app
                  image: busybox
                  ports:
                    - containerPort: 8080
                  readinessProbe:
                    httpGet:
                      port: http
                  resources:
                    limits:
                      memory: 64Mi
                      cpu: 100m
            status:
              phase: Running
              podIP: 127.0.0.1
            """), LocalModeJsonContext.Default.V1Pod);

        Assert.Equal("reports", pod.Metadata.NamespaceProperty);
        Assert.Equal(new DateTime(2026, 11, 30, 10, 0, 0, DateTimeKind.Utc), pod.Metadata.CreationTimestamp?.ToUniversalTime());
        Assert.Equal("1", pod.Metadata.Labels["version"]);
        Assert.False(pod.Spec.HostNetwork);
        Assert.Equal(30, pod.Spec.TerminationGracePeriodSeconds);
        var container = Assert.Single(pod.Spec.Containers);
        Assert.Equal(8080, Assert.Single(container.Ports).ContainerPort);
        Assert.Equal("http", container.ReadinessProbe.HttpGet.Port.Value);
        Assert.Equal("64Mi", container.Resources.Limits["memory"].ToString());
        Assert.Equal("127.0.0.1", pod.Status.PodIP);
    }

    [Fact]
    public void ReadsEmptyAndNullValuesAsAbsent()
    {
        var pod = YamlModelReader.Read(Root("metadata:\n  name: app\n  labels:\nspec: ~\n"), LocalModeJsonContext.Default.V1Pod);

        Assert.Null(pod.Metadata.Labels);
        Assert.Null(pod.Spec);
    }

    [Theory]
    [InlineData("metadata: app\n", "wrong type: expected a mapping (V1ObjectMeta)", 1)]
    [InlineData("spec:\n  containers: app\n", "wrong type: expected a list", 2)]
    [InlineData("spec:\n  hostNetwork: maybe\n", "wrong type: expected true or false, not 'maybe'", 2)]
    [InlineData("spec:\n  priority: high\n", "wrong type: expected a whole number, not 'high'", 2)]
    [InlineData("spec:\n  nodeSelector: [a]\n", "wrong type: expected a mapping", 2)]
    [InlineData("spec:\n  containers:\n    - name: [a]\n", "wrong type: expected a string", 3)]
    [InlineData("spec:\n  containers:\n    - resources:\n        limits:\n          cpu: lots\n", "wrong type: expected quantity (like 100m or 1Gi), not 'lots'", 5)]
    [InlineData("spec:\n  podIp: 127.0.0.1\n", YamlModelReader.UnknownField, 2)]
    public void RefusesAValueOfTheWrongKindAtItsNode(string yaml, string message, int line)
    {
        var error = Assert.Throws<YamlException>(() => YamlModelReader.Read(Root(yaml), LocalModeJsonContext.Default.V1Pod));

        Assert.Equal(message, error.Message);
        Assert.Equal(line, error.Start.Line);
    }

    [Fact]
    public void ReadsServiceAccountsAndNodes()
    {
        var account = YamlModelReader.Read(Root("metadata:\n  name: app\n  annotations:\n    iam.amazonaws.com/roleArn: arn:aws:iam::123456789012:role/app\n"),
            LocalModeJsonContext.Default.V1ServiceAccount);
        var node = YamlModelReader.Read(Root("metadata:\n  name: node-1\n  labels:\n    topology.kubernetes.io/region: eu-west-1\n"),
            LocalModeJsonContext.Default.V1Node);

        Assert.Equal("arn:aws:iam::123456789012:role/app", account.Metadata.Annotations["iam.amazonaws.com/roleArn"]);
        Assert.Equal("eu-west-1", node.Metadata.Labels["topology.kubernetes.io/region"]);
    }
}
