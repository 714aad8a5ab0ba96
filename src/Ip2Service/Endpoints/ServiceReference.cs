namespace Ip2Service.Endpoints;

/// <summary>The iam4kube Service whose EndpointSlices ip2service follows, and the name of its port.</summary>
internal sealed record ServiceReference(string Namespace, string Name, string PortName)
{
    /// <summary>The label the EndpointSlice controller puts on a Service's slices.</summary>
    public string LabelSelector => "kubernetes.io/service-name=" + Name;

    public override string ToString() => $"{Namespace}/{Name} port \"{PortName}\"";
}
