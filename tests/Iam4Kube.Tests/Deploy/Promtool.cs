using Iam4Kube.Testing.Monitoring;
using Iam4Kube.Testing.Networking;
using YamlDotNet.RepresentationModel;

namespace Iam4Kube.Tests.Deploy;

/// <summary>Runs Prometheus's promtool (Debian package <c>prometheus</c>, which ./test.sh installs) on the files
/// of deploy/monitoring, in a temporary folder of their own.</summary>
internal sealed class Promtool : IDisposable
{
    /// <summary>The name the unit tests' <c>rule_files</c> refer to.</summary>
    public const string RulesFileName = "iam4kube-prometheusrule.rules.yaml";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("iam4kube-promtool-");

    public string Folder => _folder.FullName;

    public static string Find(IEnumerable<string> searchPath) =>
        ExternalTool.Find(
            "promtool",
            searchPath,
            "the monitoring tests check the alerts and dashboard with Prometheus's own promtool. Run the tests through "
            + "./test.sh, which installs it (Debian: apt-get install prometheus).");

    /// <summary>Writes the PrometheusRule's spec.groups as a Prometheus rules file; returns its path.</summary>
    public string WriteShippedRules()
    {
        var spec = (YamlMappingNode)MonitoringFiles.LoadPrometheusRule()["spec"];
        return Write(RulesFileName, new YamlMappingNode { { "groups", spec["groups"] } });
    }

    /// <summary>Writes a rules file of one recording rule per expression, so that promtool parses each.</summary>
    public string WriteRecordingRules(IEnumerable<string> expressions)
    {
        var rules = new YamlSequenceNode();
        var index = 0;
        foreach (var expression in expressions)
        {
            rules.Add(new YamlMappingNode
            {
                { "record", $"check:expression_{index++}" },
                { "expr", new YamlScalarNode(expression) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted } },
            });
        }

        var group = new YamlMappingNode { { "name", "expressions" }, { "rules", rules } };
        return Write("expressions.rules.yaml", new YamlMappingNode { { "groups", new YamlSequenceNode(group) } });
    }

    public string Copy(string file)
    {
        var target = Path.Combine(Folder, Path.GetFileName(file));
        File.Copy(file, target);
        return target;
    }

    /// <summary>Runs promtool (a unit test file's rule_files resolve next to it).</summary>
    public static ProcessResult Run(params string[] args) =>
        ProcessRunner.RunAsync(Find(Kustomize.DefaultSearchPath), args, timeout: Timeout).GetAwaiter().GetResult();

    public void Dispose() => _folder.Delete(recursive: true);

    private string Write(string name, YamlNode root)
    {
        var path = Path.Combine(Folder, name);
        using (var writer = new StreamWriter(path))
        {
            new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        }

        return path;
    }
}
