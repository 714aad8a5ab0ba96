using k8s.Models;

namespace Ip2Service.Tests.TestSupport;

/// <summary>EndpointSlices as the EndpointSlice controller writes them for the iam4kube Service.</summary>
internal static class EndpointSlices
{
    public const string Namespace = "iam4kube";
    public const string Service = "iam4kube";

    public static V1EndpointSlice Slice(
        string name,
        IEnumerable<V1Endpoint> endpoints,
        string addressType = "IPv4",
        string? portName = "http",
        int? port = 8080,
        string service = Service) =>
        new()
        {
            ApiVersion = "discovery.k8s.io/v1",
            Kind = "EndpointSlice",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = Namespace,
                Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service },
            },
            AddressType = addressType,
            Ports = portName is null && port is null ? [] : [new Discoveryv1EndpointPort { Name = portName, Port = port, Protocol = "TCP" }],
            Endpoints = [.. endpoints],
        };

    public static V1Endpoint Endpoint(string address, bool? ready = true, bool? terminating = false) =>
        new()
        {
            Addresses = [address],
            Conditions = new V1EndpointConditions { Ready = ready, Serving = ready, Terminating = terminating },
        };
}
