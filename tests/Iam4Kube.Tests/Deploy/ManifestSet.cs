using k8s;
using k8s.Models;
using Xunit.Sdk;
using YamlDotNet.Core;

namespace Iam4Kube.Tests.Deploy;

/// <summary>The Kubernetes objects of one deployable variant (the base's files, or a rendered kustomization), as
/// KubernetesClient's typed models.</summary>
internal sealed class ManifestSet(string source, bool rendered, IReadOnlyList<object> objects)
{
    public const string Namespace = "iam4kube";

    /// <summary>Where the objects came from, for assertion messages.</summary>
    public string Source { get; } = source;

    /// <summary>Whether Kustomize produced these (generated ConfigMaps, image names and the namespace are then
    /// final), or they are the base's files as written.</summary>
    public bool Rendered { get; } = rendered;

    public IReadOnlyList<object> Objects { get; } = objects;

    public V1Deployment Iam4KubeDeployment => Single<V1Deployment>("iam4kube");

    public V1Container Iam4KubeContainer => Assert.Single(Iam4KubeDeployment.Spec.Template.Spec.Containers);

    public V1DaemonSet Ip2ServiceDaemonSet => Single<V1DaemonSet>("ip2service");

    public V1Container Ip2ServiceContainer => Assert.Single(Ip2ServiceDaemonSet.Spec.Template.Spec.Containers);

    public V1Service Iam4KubeService => Single<V1Service>("iam4kube");

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    public T Single<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var matches = All<T>().Where(o => o.Metadata?.Name == name).ToList();
        Assert.True(matches.Count == 1, $"{Source}: expected exactly one {typeof(T).Name} named \"{name}\", found {matches.Count}");
        return matches[0];
    }

    public override string ToString() => Source;

    /// <summary>Loads YAML strictly: a field the Kubernetes API does not know (a typo such as
    /// <c>maxUnavailabe</c>) fails the load instead of silently vanishing.</summary>
    public static ManifestSet Parse(string source, bool rendered, string yaml) =>
        new(source, rendered, LoadStrictly(source, yaml));

    public static IReadOnlyList<object> LoadStrictly(string source, string yaml)
    {
        try
        {
            return KubernetesYamlReader.LoadAll(yaml);
        }
        catch (YamlException e)
        {
            throw new XunitException($"{source} does not load as Kubernetes objects: {e.Message}");
        }
    }
}
