using k8s.Models;

namespace Iam4Kube.Testing.Builders;

/// <summary>Terse builders for the Kubernetes objects tests create.</summary>
public static class KubeObjects
{
    public const string RoleArnAnnotation = "iam.amazonaws.com/roleArn";
    public const string ExternalIdAnnotation = "iam.amazonaws.com/roleExternalId";

    public static V1Pod Pod(
        string @namespace,
        string name,
        string? ip,
        string serviceAccount = "default",
        string? node = "node-1",
        string? uid = null,
        string phase = "Running",
        bool hostNetwork = false) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta
        {
            NamespaceProperty = @namespace,
            Name = name,
            Uid = uid ?? Guid.NewGuid().ToString(),
        },
        Spec = new V1PodSpec
        {
            ServiceAccountName = serviceAccount,
            NodeName = node,
            HostNetwork = hostNetwork ? true : null,
            Containers = [new V1Container { Name = "app", Image = "app:1" }],
        },
        Status = new V1PodStatus
        {
            Phase = phase,
            PodIP = ip,
            PodIPs = ip is null ? null : [new V1PodIP { Ip = ip }],
        },
    };

    public static V1ServiceAccount ServiceAccount(string @namespace, string name, string? roleArn = null, string? externalId = null)
    {
        var annotations = new Dictionary<string, string>();
        if (roleArn is not null)
        {
            annotations[RoleArnAnnotation] = roleArn;
        }

        if (externalId is not null)
        {
            annotations[ExternalIdAnnotation] = externalId;
        }

        return new V1ServiceAccount
        {
            ApiVersion = "v1",
            Kind = "ServiceAccount",
            Metadata = new V1ObjectMeta
            {
                NamespaceProperty = @namespace,
                Name = name,
                Uid = Guid.NewGuid().ToString(),
                Annotations = annotations.Count == 0 ? null : annotations,
            },
        };
    }

    public static V1Node Node(string name, string? region = "eu-west-1", string? zone = "eu-west-1a")
    {
        var labels = new Dictionary<string, string> { ["kubernetes.io/hostname"] = name };
        if (region is not null)
        {
            labels["topology.kubernetes.io/region"] = region;
        }

        if (zone is not null)
        {
            labels["topology.kubernetes.io/zone"] = zone;
        }

        return new V1Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new V1ObjectMeta { Name = name, Uid = Guid.NewGuid().ToString(), Labels = labels },
        };
    }

    public const string AllowedRolesAnnotation = "iam.amazonaws.com/allowed-roles";
    public const string PermittedAnnotation = "iam.amazonaws.com/permitted";

    /// <summary>A Namespace with kube2iam's allowed-roles (a JSON array) and/or kiam's permitted (a regex) annotation.</summary>
    public static V1Namespace Namespace(string name, string? allowedRoles = null, string? permitted = null)
    {
        var annotations = new Dictionary<string, string>();
        if (allowedRoles is not null)
        {
            annotations[AllowedRolesAnnotation] = allowedRoles;
        }

        if (permitted is not null)
        {
            annotations[PermittedAnnotation] = permitted;
        }

        return new V1Namespace
        {
            ApiVersion = "v1",
            Kind = "Namespace",
            Metadata = new V1ObjectMeta { Name = name, Annotations = annotations },
        };
    }

    public static string RoleArn(string name, string account = "123456789012") => $"arn:aws:iam::{account}:role/{name}";
}
