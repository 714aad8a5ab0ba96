using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Iam4Kube.Cluster;
using Iam4Kube.Watching;

namespace Iam4Kube.Tests.Deploy;

/// <summary>
/// iam4kube's NativeAOT binary must not carry KubernetesClient's JSON of every Kubernetes model (issue 15: it was most
/// of the 22.8 MB <c>.hydrated</c> section and of the idle RSS; docs/benchmarks.md, "Issue 15: iam4kube's own API
/// client and JSON"). What roots it is any use of <c>k8s.KubernetesJson</c> (its static constructor installs the
/// context of every model), of the <c>k8s.Kubernetes</c> constructor (which reads
/// <c>KubernetesClientConfiguration.JsonSerializerOptions</c>, initialising it) or of the typed client's generated
/// operations (which decode with it). Publishing takes minutes, so this checks the IL of the two assemblies the binary
/// is compiled from (iam4kube, Iam4Kube.Shared): no reference to any of these, used or not. The published binary's
/// figures are in docs/benchmarks.md.
/// </summary>
public sealed class KubernetesClientJsonGuardTests
{
    public static TheoryData<string> Assemblies => new()
    {
        typeof(KubernetesCalls).Assembly.Location,
        typeof(KubernetesApi).Assembly.Location,
    };

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void NeitherAssemblyOfTheBinaryReferencesKubernetesClientsJsonOrItsTypedClient(string assembly)
    {
        var found = References(assembly).Where(Forbidden).ToList();

        Assert.True(found.Count == 0, $"{Path.GetFileName(assembly)} references {string.Join(", ", found)}");
    }

    [Fact]
    public void TheCheckSeesWhatItForbids()
    {
        // The test assembly uses all of it (against the fake API server): the check must find each kind.
        var found = References(typeof(KubernetesClientJsonGuardTests).Assembly.Location).Where(Forbidden).ToList();

        Assert.Contains("k8s.KubernetesJson::Serialize", found);
        Assert.Contains("k8s.Kubernetes::.ctor", found);
        Assert.Contains("k8s.IKubernetes", found);
        Assert.Contains(found, r => r.StartsWith("k8s.ICoreV1Operations", StringComparison.Ordinal));
    }

    private static bool Forbidden(string reference) =>
        reference.StartsWith("k8s.KubernetesJson", StringComparison.Ordinal)
        || reference == "k8s.Kubernetes::.ctor"
        || reference == "k8s.KubernetesClientConfiguration::get_JsonSerializerOptions"
        || reference is "k8s.IKubernetes" or "k8s.AbstractKubernetes"
        || (reference.StartsWith("k8s.I", StringComparison.Ordinal) && reference.Split("::")[0].EndsWith("Operations", StringComparison.Ordinal))
        || reference.Split("::")[0].EndsWith("OperationsExtensions", StringComparison.Ordinal);

    // Every type and member an assembly refers to in another assembly: "Namespace.Type" (nested: "Outer/Inner") and
    // "Namespace.Type::Member".
    private static List<string> References(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var types = new List<string>();
        foreach (var handle in metadata.TypeReferences)
        {
            types.Add(Name(metadata, handle));
        }

        foreach (var handle in metadata.MemberReferences)
        {
            var member = metadata.GetMemberReference(handle);
            if (member.Parent.Kind == HandleKind.TypeReference)
            {
                types.Add($"{Name(metadata, (TypeReferenceHandle)member.Parent)}::{metadata.GetString(member.Name)}");
            }
            else if (member.Parent.Kind == HandleKind.TypeSpecification)
            {
                types.Add($"(generic)::{metadata.GetString(member.Name)}");
            }
        }

        return types;
    }

    private static string Name(MetadataReader metadata, TypeReferenceHandle handle)
    {
        var type = metadata.GetTypeReference(handle);
        var name = metadata.GetString(type.Name);
        return type.ResolutionScope.Kind == HandleKind.TypeReference
            ? $"{Name(metadata, (TypeReferenceHandle)type.ResolutionScope)}/{name}"
            : $"{metadata.GetString(type.Namespace)}.{name}";
    }
}
