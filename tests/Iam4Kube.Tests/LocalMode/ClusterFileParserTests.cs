using System.Net;
using Iam4Kube.LocalMode;
using Iam4Kube.Stores;
using Iam4Kube.Testing;

namespace Iam4Kube.Tests.LocalMode;

public sealed class ClusterFileParserTests
{
    private const string File = "cluster.yaml";

    private static ClusterFileContents Parse(string yaml) => ClusterFileParser.Parse(File, yaml);

    private static ClusterFileProblem SingleProblem(string yaml)
    {
        var contents = Parse(yaml);
        Assert.False(contents.IsValid);
        return Assert.Single(contents.Problems);
    }

    [Fact]
    public void TheExampleFileHoldsANodeAServiceAccountWithARoleAndARunningPodAt127001()
    {
        var path = Path.Combine(Checkout.Root, "deploy", "examples", "local-cluster.yaml");
        var contents = ClusterFileParser.Parse(path, System.IO.File.ReadAllText(path));

        Assert.True(contents.IsValid, string.Join('\n', contents.Problems));
        Assert.Empty(contents.Warnings);
        Assert.Empty(contents.Skipped);
        var node = Assert.Single(contents.Nodes);
        Assert.Equal("eu-west-1", NodeInfo.FromNode(node)!.Region);
        Assert.NotNull(NodeInfo.FromNode(node)!.Zone);
        var serviceAccount = Assert.Single(contents.ServiceAccounts);
        Assert.StartsWith("arn:aws:iam::", serviceAccount.Metadata.Annotations["iam.amazonaws.com/roleArn"], StringComparison.Ordinal);
        var pod = Assert.Single(contents.Pods);
        Assert.Equal("Running", pod.Status.Phase);
        Assert.Equal(node.Metadata.Name, pod.Spec.NodeName);
        Assert.Equal(serviceAccount.Metadata.Name, pod.Spec.ServiceAccountName);
        Assert.Equal([IPAddress.Loopback], PodInfo.FromPod(pod)!.Ips);
    }

    [Fact]
    public void PutsPodsAndServiceAccountsWithoutANamespaceInDefault()
    {
        var contents = Parse(ClusterFileSourceTests.ClusterYaml("reader"));

        Assert.True(contents.IsValid, string.Join('\n', contents.Problems));
        Assert.Equal("default", Assert.Single(contents.Pods).Metadata.NamespaceProperty);
        Assert.Equal("default", Assert.Single(contents.ServiceAccounts).Metadata.NamespaceProperty);
    }

    [Fact]
    public void SkipsOtherKindsAndSaysWhichAndWhere()
    {
        var contents = Parse("""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: reports
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
              namespace: reports
            """);

        Assert.True(contents.IsValid);
        Assert.Collection(contents.Skipped,
            s => Assert.Equal("cluster.yaml: document 1 (line 1): Namespace reports: skipped: local mode reads only v1 Pods, ServiceAccounts and Nodes", s.ToString()),
            s => Assert.Equal("cluster.yaml: document 2 (line 6): Deployment reports/web: skipped: local mode reads only v1 Pods, ServiceAccounts and Nodes", s.ToString()));
    }

    [Fact]
    public void CountsDocumentsAsKubectlDoesIgnoringEmptyOnesAndALeadingSeparator()
    {
        var problem = SingleProblem("""
            # a comment before the first separator is not a document
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: ok
            ---   # an empty document, with a comment on the separator
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: bad
              annotationz: {}
            """);

        Assert.Equal(2, problem.Document);
        Assert.Equal(13, problem.Line);
        Assert.Equal("metadata.annotationz", problem.Field);
    }

    [Fact]
    public void NamesTheDocumentLineObjectAndFieldOfAMisspeltField()
    {
        var yaml = ClusterFileSourceTests.ClusterYaml("reader").Replace("podIP:", "podIp:", StringComparison.Ordinal);

        var problem = SingleProblem(yaml);

        var line = yaml.Split('\n').ToList().FindIndex(l => l.Contains("podIp", StringComparison.Ordinal)) + 1;
        Assert.Equal($"cluster.yaml: document 3 (line {line}): Pod default/app: field status.podIp: unknown field (field names are case-sensitive, as in kubectl)", problem.ToString());
    }

    [Fact]
    public void NamesTheFieldOfAValueOfTheWrongType()
    {
        var problem = SingleProblem("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: app
            spec:
              hostNetwork: maybe
              containers:
                - name: app
                  ports: 80
            """);

        Assert.Equal("spec.hostNetwork", problem.Field);
        Assert.Equal(6, problem.Line);
        Assert.Contains("maybe", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NamesTheFieldInsideAListOfContainers()
    {
        var problem = SingleProblem("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: app
            spec:
              containers:
                - name: first
                - name: second
                  imag: busybox
            """);

        Assert.Equal("spec.containers[1].imag", problem.Field);
        Assert.Equal(9, problem.Line);
    }

    [Fact]
    public void RejectsAPodIpThatIsNotAnIpAddressAndPointsAtItsLine()
    {
        var yaml = ClusterFileSourceTests.ClusterYaml("reader").Replace("127.0.0.1", "127.0.0.300", StringComparison.Ordinal);

        var problem = SingleProblem(yaml);

        Assert.Equal(yaml.Split('\n').ToList().FindIndex(l => l.Contains("podIP", StringComparison.Ordinal)) + 1, problem.Line);
        Assert.Equal("status.podIP", problem.Field);
        Assert.Equal("'127.0.0.300' is not an IP address", problem.Message);
        Assert.Equal("Pod default/app", problem.Object);
    }

    [Fact]
    public void ReportsBrokenYamlWithTheNumberAndLineOfItsDocumentAndStillChecksTheOthers()
    {
        var contents = Parse("""
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: one
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: [two
            ---
            apiVersion: v1
            kind: Pod
            metadata: {}
            """);

        Assert.Collection(contents.Problems,
            p =>
            {
                Assert.Equal(2, p.Document);
                Assert.Equal(9, p.Line);
                Assert.StartsWith("invalid YAML: ", p.Message, StringComparison.Ordinal);
            },
            p => Assert.Equal("cluster.yaml: document 3 (line 13): Pod default/(no name): field metadata.name: missing", p.ToString()));
    }

    [Fact]
    public void RequiresApiVersionAndKindAndV1ForTheKindsItReads()
    {
        Assert.Equal("kind", SingleProblem("apiVersion: v1\nmetadata:\n  name: x\n").Field);
        Assert.Equal("apiVersion", SingleProblem("kind: Pod\nmetadata:\n  name: x\n").Field);
        var problem = SingleProblem("apiVersion: core/v2\nkind: Pod\nmetadata:\n  name: x\n");
        Assert.Equal("apiVersion", problem.Field);
        Assert.Equal("Pod is in apiVersion v1, not 'core/v2'", problem.Message);
        Assert.Equal("is not a Kubernetes object (a mapping with apiVersion, kind and metadata)", SingleProblem("- a\n- b\n").Message);
    }

    [Fact]
    public void RejectsTwoObjectsOfOneKindWithTheSameName()
    {
        var problem = SingleProblem("""
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: app
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: app
              namespace: default
            """);

        Assert.Equal(2, problem.Document);
        Assert.Equal(9, problem.Line);
        Assert.Equal("ServiceAccount default/app is also defined in document 1", problem.Message);
    }

    [Fact]
    public void WarnsWithoutRejectingWhatWouldLeaveAPodWithoutCredentials()
    {
        var contents = Parse("""
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: app
              annotations:
                iam.amazonaws.com/roleArn: not-an-arn
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: no-ip
            spec:
              serviceAccountName: app
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: orphan
            spec:
              serviceAccountName: missing
              nodeName: nowhere
            status:
              podIP: 127.0.0.2
            """);

        Assert.True(contents.IsValid);
        Assert.Equal(2, contents.Pods.Count);
        Assert.Collection(contents.Warnings,
            w => Assert.Equal("metadata.annotations", w.Field),
            w => Assert.Equal(("Pod default/no-ip", "status.podIP"), (w.Object, w.Field)),
            w => Assert.Equal(("Pod default/orphan", "spec.serviceAccountName"), (w.Object, w.Field)),
            w => Assert.Equal(("Pod default/orphan", "spec.nodeName"), (w.Object, w.Field)));
    }
}

/// <summary>Hostile nesting: refused early, in bounded time and memory, never a stack overflow.</summary>
public sealed class ClusterFileParserDepthTests
{
    private const string Head = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\nspec:\n  x: ";

    [Fact]
    public void AFiftyThousandDeepFlowSequenceIsRefusedWithoutOverflowingTheStack()
    {
        // ~100 KB: YamlDotNet builds nodes recursively, and this used to kill the process.
        AssertRefusedCheaply(Head + new string('[', 50_000) + new string(']', 50_000) + "\n");
    }

    [Fact]
    public void ATenThousandDeepMappingIsRefusedInBoundedMemory()
    {
        AssertRefusedCheaply(Head + string.Concat(Enumerable.Repeat("{a: ", 10_000)) + "1" + new string('}', 10_000) + "\n");
    }

    [Fact]
    public void ADeepBlockMappingIsRefusedToo()
    {
        var lines = Enumerable.Range(0, 200).Select(i => new string(' ', 2 + (2 * i)) + "a:");
        AssertRefusedCheaply(Head.Replace("  x: ", "", StringComparison.Ordinal) + string.Join('\n', lines) + " 1\n");
    }

    [Fact]
    public void NestingUpToTheLimitIsStillRead()
    {
        // Depth: the document, metadata, annotations… here a value nested MaxDepth - 1 levels inside the document.
        var yaml = Head + new string('[', ClusterFileParser.MaxDepth - 2) + new string(']', ClusterFileParser.MaxDepth - 2) + "\n";
        var contents = ClusterFileParser.Parse("cluster.yaml", yaml);

        Assert.DoesNotContain(contents.Problems, p => p.Detail.Contains("levels deep", StringComparison.Ordinal));
    }

    private static void AssertRefusedCheaply(string yaml)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var started = System.Diagnostics.Stopwatch.StartNew();

        var contents = ClusterFileParser.Parse("cluster.yaml", yaml);

        var problem = Assert.Single(contents.Problems);
        Assert.Equal($"nests mappings and sequences more than {ClusterFileParser.MaxDepth} levels deep", problem.Detail);
        Assert.Equal(1, problem.Document);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
        var megabytes = (GC.GetAllocatedBytesForCurrentThread() - allocated) >> 20;
        Assert.True(megabytes < 32, $"allocated {megabytes} MiB");
    }
}
