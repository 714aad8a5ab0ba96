using System.Reflection;
using System.Text.Json.Nodes;
using Ip2Service.Tests.TestSupport;

namespace Ip2Service.Tests.Hosting;

/// <summary>
/// ip2service is a generic-host program with its own admin server (issue 15, footprint): neither it nor the library it
/// shares with iam4kube needs ASP.NET Core, so a node runs it on the .NET runtime alone and its NativeAOT binary carries
/// nothing of ASP.NET Core.
/// </summary>
public sealed class DependenciesTests
{
    [Fact]
    public void RunsOnTheDotnetRuntimeAloneWithoutTheAspNetCoreFramework()
    {
        var runtimeConfig = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(Ip2ServiceBinary.Dll, ".runtimeconfig.json")))!;
        var options = runtimeConfig["runtimeOptions"]!;
        string[] frameworks = options["frameworks"] is JsonArray several
            ? [.. several.Select(f => f!["name"]!.GetValue<string>())]
            : [options["framework"]!["name"]!.GetValue<string>()];

        Assert.Equal(["Microsoft.NETCore.App"], frameworks);
    }

    [Fact]
    public void NeitherItNorAnyAssemblyItLoadsReferencesAspNetCore()
    {
        var seen = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var pending = new Stack<Assembly>([typeof(global::Ip2Service.Hosting.RunCommand).Assembly]);
        while (pending.TryPop(out var assembly))
        {
            if (!seen.TryAdd(assembly.GetName().Name!, assembly))
            {
                continue;
            }

            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (!seen.ContainsKey(reference.Name!) && !reference.Name!.StartsWith("System.", StringComparison.Ordinal))
                {
                    pending.Push(Assembly.Load(reference));
                }
            }
        }

        Assert.Contains("Iam4Kube.Shared", seen.Keys);
        Assert.Contains("Prometheus.NetStandard", seen.Keys);
        Assert.DoesNotContain(seen.Keys, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
            || name.StartsWith("Prometheus.AspNetCore", StringComparison.Ordinal) || name == "Serilog.AspNetCore");
    }
}
