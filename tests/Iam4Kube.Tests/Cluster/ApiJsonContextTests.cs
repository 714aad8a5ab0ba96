using System.Text;
using System.Text.Json;
using Iam4Kube.Cluster;
using Iam4Kube.Stores;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Tests.TestSupport;
using Iam4Kube.Watching;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Iam4Kube.Tests.Cluster;

/// <summary>
/// iam4kube's own JSON of the API's objects (<see cref="ApiJsonContext"/>, <see cref="ModelJson"/>) reads what
/// KubernetesClient read (a pod from a real cluster: probes on named and numbered ports, quantities, timestamps with and
/// without fractions) and writes what it wrote, except MicroTime, which it writes as kube-apiserver requires.
/// </summary>
public sealed class ApiJsonContextTests
{
    /// <summary>A pod as <c>kubectl get pod -o json</c> shows one on a real cluster (EKS, 1.33), trimmed of nothing
    /// iam4kube could stumble on: named and numbered probe ports, quantities in several spellings, managedFields,
    /// times with and without fractions, a projected token volume, tolerations with seconds.</summary>
    public const string PodFromACluster = """
        {"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-7d9f8b6c5d-x2x4z","generateName":"web-7d9f8b6c5d-","namespace":"shop",
        "uid":"0d5b6c1e-6a8e-4d2f-9b0c-3f1e2d4c5b6a","resourceVersion":"184467","creationTimestamp":"2026-11-30T09:59:58Z",
        "deletionTimestamp":"2026-11-30T10:05:00Z","deletionGracePeriodSeconds":30,
        "labels":{"app":"web","pod-template-hash":"7d9f8b6c5d"},"annotations":{"iam.amazonaws.com/role":"web","kubectl.kubernetes.io/restartedAt":"2026-11-02T10:15:00Z"},
        "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9f8b6c5d","uid":"5e0a","controller":true,"blockOwnerDeletion":true}],
        "managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2026-11-30T09:59:58Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}},
        {"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2026-11-30T10:00:03Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:podIP":{}}},"subresource":"status"}]},
        "spec":{"volumes":[{"name":"kube-api-access-7x2lq","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
        {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],
        "containers":[{"name":"web","image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1.4.2","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"},{"name":"metrics","containerPort":9090,"protocol":"TCP"}],
        "env":[{"name":"POD_IP","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"status.podIP"}}},{"name":"GOMEMLIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","divisor":"1"}}}],
        "resources":{"limits":{"cpu":"1","memory":"1Gi","ephemeral-storage":"2G"},"requests":{"cpu":"250m","memory":"268435456","ephemeral-storage":"500M"}},
        "volumeMounts":[{"name":"kube-api-access-7x2lq","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],
        "livenessProbe":{"httpGet":{"path":"/livez","port":"http","scheme":"HTTP"},"initialDelaySeconds":10,"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},
        "readinessProbe":{"tcpSocket":{"port":8080},"timeoutSeconds":1,"periodSeconds":5,"successThreshold":1,"failureThreshold":3},
        "startupProbe":{"grpc":{"port":9090,"service":""},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":30},
        "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent",
        "securityContext":{"capabilities":{"drop":["ALL"]},"runAsNonRoot":true,"allowPrivilegeEscalation":false,"seccompProfile":{"type":"RuntimeDefault"}}}],
        "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"web","serviceAccount":"web",
        "nodeName":"ip-10-0-1-23.eu-west-1.compute.internal","securityContext":{"fsGroup":65534},"schedulerName":"default-scheduler",
        "tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
        "priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority",
        "topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway","labelSelector":{"matchLabels":{"app":"web"}}}],
        "overhead":{"cpu":"0.1","memory":"1e3"}},
        "status":{"phase":"Running","conditions":[{"type":"PodReadyToStartContainers","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:01Z"},
        {"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T10:00:03.5Z"}],
        "hostIP":"10.0.1.23","hostIPs":[{"ip":"10.0.1.23"}],"podIP":"10.0.1.57","podIPs":[{"ip":"10.0.1.57"}],"startTime":"2026-11-30T09:59:58Z",
        "containerStatuses":[{"name":"web","state":{"running":{"startedAt":"2026-11-30T10:00:01Z"}},"lastState":{},"ready":true,"restartCount":0,
        "image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1.4.2","imageID":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:4f1c","containerID":"containerd://9a8b","started":true,
        "allocatedResources":{"cpu":"250m","memory":"256Mi"},"resources":{"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":"250m","memory":"256Mi"}}}],"qosClass":"Burstable"}}
        """;

    [Fact]
    public void APodFromAClusterDecodesAsKubernetesClientDecodedIt()
    {
        var own = JsonSerializer.Deserialize(PodFromACluster, ModelJson.Info<V1Pod>())!;
        var typed = KubernetesJson.Deserialize<V1Pod>(PodFromACluster);

        // Compared as one serializer writes both (KubernetesClient.Aot's cannot write managedFields' fieldsV1).
        Assert.Equal(JsonSerializer.Serialize(typed, ModelJson.Info<V1Pod>()), JsonSerializer.Serialize(own, ModelJson.Info<V1Pod>()));
        Assert.Equal(typed.Metadata.ManagedFields[1].FieldsV1.ToString(), own.Metadata.ManagedFields[1].FieldsV1.ToString());
        var web = Assert.Single(own.Spec.Containers);
        Assert.Equal("http", web.LivenessProbe.HttpGet.Port.Value);
        Assert.Equal("8080", web.ReadinessProbe.TcpSocket.Port.Value);
        Assert.Equal(new ResourceQuantity("250m"), web.Resources.Requests["cpu"]);
        Assert.Equal(268435456m, web.Resources.Requests["memory"].ToDecimal());
        Assert.Equal(new DateTime(2026, 11, 30, 9, 59, 58, DateTimeKind.Utc), own.Metadata.CreationTimestamp);
        Assert.Equal(DateTimeKind.Utc, own.Metadata.CreationTimestamp!.Value.Kind);
        Assert.Equal(new DateTime(2026, 11, 30, 10, 0, 3, 500, DateTimeKind.Utc), own.Status.Conditions.Single(c => c.Type == "Ready").LastTransitionTime);
        var (typedInfo, ownInfo) = (PodInfo.FromPod(typed)!, PodInfo.FromPod(own)!);
        Assert.Equal((typedInfo.Name, typedInfo.Uid, typedInfo.ServiceAccount, typedInfo.NodeName), (ownInfo.Name, ownInfo.Uid, ownInfo.ServiceAccount, ownInfo.NodeName));
        Assert.Equal(typedInfo.Ips, ownInfo.Ips);
    }

    [Fact]
    public void APodFromAClusterDecodesInAWatchEventAsIam4KubeWatchesIt()
    {
        var decoder = WatchDecoder<V1Pod>.From(ModelJson.Info<V1Pod>(), ModelJson.Info<V1Status>());

        var pod = decoder.Item(new MemoryStream(Encoding.UTF8.GetBytes(PodFromACluster)));

        var info = PodInfo.FromPod(pod!)!;
        Assert.Equal(new NamespacedName("shop", "web-7d9f8b6c5d-x2x4z"), info.Name);
        Assert.Equal("0d5b6c1e-6a8e-4d2f-9b0c-3f1e2d4c5b6a", info.Uid);
        Assert.Equal("web", info.ServiceAccount);
        Assert.Equal("ip-10-0-1-23.eu-west-1.compute.internal", info.NodeName);
        Assert.Equal([System.Net.IPAddress.Parse("10.0.1.57")], info.Ips);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1_234_567)]
    [InlineData(9_999_999)]
    public void TimesAreWrittenAsKubernetesClientWroteThem(long ticks)
    {
        var at = new DateTime(2026, 11, 30, 10, 0, 0, DateTimeKind.Utc).AddTicks(ticks);
        var written = new Corev1Event { FirstTimestamp = at, LastTimestamp = at, Metadata = new V1ObjectMeta { CreationTimestamp = at } };

        Assert.Equal(KubernetesJson.Serialize(written), JsonSerializer.Serialize(written, ModelJson.Info<Corev1Event>()));
    }

    [Theory]
    [InlineData(0, "2026-11-30T10:00:00.000000Z")]
    [InlineData(1_234_567, "2026-11-30T10:00:00.123456Z")]
    [InlineData(9_999_999, "2026-11-30T10:00:00.999999Z")]
    public void MicroTimesAreWrittenWithExactlySixFractionalDigits(long ticks, string expected)
    {
        var at = new DateTime(2026, 11, 30, 10, 0, 0, DateTimeKind.Utc).AddTicks(ticks);

        var json = JsonSerializer.Serialize(
            new Corev1Event { EventTime = at, Series = new Corev1EventSeries { Count = 2, LastObservedTime = at } },
            ModelJson.Info<Corev1Event>());

        var written = JsonDocument.Parse(json).RootElement;
        Assert.Equal(expected, written.GetProperty("eventTime").GetString());
        Assert.Equal(expected, written.GetProperty("series").GetProperty("lastObservedTime").GetString());
        Assert.Equal(at.AddTicks(-(ticks % 10)), JsonSerializer.Deserialize(json, ModelJson.Info<Corev1Event>())!.EventTime);
    }

    [Fact]
    public async Task AnEventWithAWholeSecondEventTimeIsAcceptedFromIam4KubeButNotFromKubernetesClient()
    {
        // The trap this guards against: KubernetesClient writes a whole-second MicroTime without digits, and
        // kube-apiserver (and so the fake) refuses it.
        await using var api = new FakeKubernetesApiServer();
        await api.StartAsync();
        using var connections = new FakeApiConnections(api);
        var at = new DateTime(2026, 11, 30, 10, 0, 0, DateTimeKind.Utc);
        Corev1Event Event() => new()
        {
            Metadata = new V1ObjectMeta { GenerateName = "web-1." },
            InvolvedObject = new V1ObjectReference { Kind = "Pod", Name = "web-1", NamespaceProperty = "shop" },
            Reason = "IamCredentialsServed",
            EventTime = at,
            ReportingComponent = "iam4kube",
            ReportingInstance = "node-1",
            Action = "Serve",
        };

        var created = await connections.Connect().CreateNamespacedEventAsync(Event(), "shop", default);
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => api.CreateClient().CoreV1.CreateNamespacedEventAsync(Event(), "shop"));

        Assert.Equal(at, created.EventTime);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.Response.StatusCode);
    }
}
