namespace Iam4Kube.Tests.LocalMode;

/// <summary>--cluster-file through the real host: what is in the file is served, and edits are followed without a restart.</summary>
public sealed class ClusterFileSourceTests
{
    /// <summary>A node, a ServiceAccount with <paramref name="role"/>, and (unless left out) its pod at 127.0.0.1.</summary>
    internal static string ClusterYaml(string role, bool withPod = true) => $"""
        apiVersion: v1
        kind: Node
        metadata:
          name: laptop
          labels:
            topology.kubernetes.io/region: eu-west-1
            topology.kubernetes.io/zone: eu-west-1b
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: app
          annotations:
            iam.amazonaws.com/roleArn: {LocalModeHost.RolePrefix}{role}
        """ + (withPod ? """

        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: app
        spec:
          serviceAccountName: app
          nodeName: laptop
        status:
          phase: Running
          podIP: 127.0.0.1

        """ : "\n");

    public enum EditStyle
    {
        /// <summary>Truncate and write the file itself (nano, `echo >`, most IDEs).</summary>
        InPlace,

        /// <summary>Write a new file beside it and rename it over the old one (vim, sed -i, atomic writers).</summary>
        RenameOver,
    }

    private static async Task EditAsync(string file, string yaml, EditStyle style)
    {
        if (style == EditStyle.InPlace)
        {
            await File.WriteAllTextAsync(file, yaml);
            return;
        }

        var temporary = Path.Combine(Path.GetDirectoryName(file)!, $".{Path.GetFileName(file)}.swp");
        await File.WriteAllTextAsync(temporary, yaml);
        File.Move(temporary, file, overwrite: true);
    }

    [Fact]
    public async Task ServesTheRoleOfThePodInTheFileFromTheStart()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));

        Assert.Equal("first", await host.RoleAsync());
        var credentials = await host.Metadata.GetStringAsync("/latest/meta-data/iam/security-credentials/first");
        Assert.Contains("\"AccessKeyId\":\"ASIAOFFLINE", credentials.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal("eu-west-1b", await host.Metadata.GetStringAsync("/latest/meta-data/placement/availability-zone"));
        Assert.Equal(1, host.Metrics.ClusterFileLoads.WithLabels("applied").Value);
    }

    [Theory]
    [InlineData(EditStyle.InPlace)]
    [InlineData(EditStyle.RenameOver)]
    public async Task ServesTheNewRoleAfterTheFileIsEditedWithoutARestart(EditStyle style)
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));
        Assert.Equal("first", await host.RoleAsync());

        await EditAsync(host.ClusterFile, ClusterYaml("second"), style);

        await host.WaitForRoleAsync("second", $"after an edit ({style})");
        Assert.Contains("\"AccessKeyId\"", await host.Metadata.GetStringAsync("/latest/meta-data/iam/security-credentials/second"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopsAnsweringForAPodRemovedFromTheFile()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));
        Assert.Equal("first", await host.RoleAsync());

        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("first", withPod: false));

        await host.WaitForRoleAsync("HTTP 404", "once the pod left the file");
        Assert.Contains("no running pod has IP 127.0.0.1", await (await host.Metadata.GetAsync("/latest/meta-data/iam/security-credentials/")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeepsServingTheLastGoodStateWhenAnEditIsInvalidAndLogsTheFileDocumentLineAndField()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));
        Assert.Equal("first", await host.RoleAsync());

        // A new role, and a typo in the pod (document 3): the whole edit is refused, not half of it applied.
        var broken = ClusterYaml("second").Replace("  podIP: 127.0.0.1", "  podIp: 127.0.0.1", StringComparison.Ordinal);
        await File.WriteAllTextAsync(host.ClusterFile, broken);
        await host.WaitUntilAsync(() => Task.FromResult(host.Metrics.ClusterFileLoads.WithLabels("invalid").Value >= 1), "the invalid edit was never noticed");

        Assert.Equal("first", await host.RoleAsync());
        var line = broken.Split('\n').ToList().FindIndex(l => l.Contains("podIp", StringComparison.Ordinal)) + 1;
        Assert.Contains($"{host.ClusterFile}: document 3 (line {line}): Pod default/app: field status.podIp: unknown field", host.LogText, StringComparison.Ordinal);
        Assert.Contains($"Did not apply {host.ClusterFile}: 1 problems (above); still serving the last good state", host.LogText, StringComparison.Ordinal);

        // Fixing the file applies it.
        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("second"));
        await host.WaitForRoleAsync("second", "after the file was fixed");
    }

    [Fact]
    public async Task StaysUnreadyUntilAFileThatWasInvalidFromTheStartIsFixed()
    {
        await using var host = await LocalModeHost.StartAsync("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [broken\n", waitUntilReady: false);
        await host.WaitUntilAsync(() => Task.FromResult(host.Metrics.ClusterFileLoads.WithLabels("invalid").Value >= 1), "the invalid file was never read");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await host.Admin.GetAsync("/readyz")).StatusCode);
        Assert.Contains($"{host.ClusterFile}: document 1 (line 4): invalid YAML: ", host.LogText, StringComparison.Ordinal);
        Assert.Contains("nothing loaded yet, so not ready; fix the file and save it", host.LogText, StringComparison.Ordinal);

        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("first"));

        await host.WaitUntilAsync(async () => (await host.Admin.GetAsync("/readyz")).IsSuccessStatusCode, "never ready after the fix");
        Assert.Equal("first", await host.RoleAsync());
    }

    [Fact]
    public async Task PicksTheFileUpAgainWhenItIsDeletedAndWrittenAnew()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));

        File.Delete(host.ClusterFile);
        await host.WaitUntilAsync(() => Task.FromResult(host.Metrics.ClusterFileLoads.WithLabels("unreadable").Value >= 1), "the deletion was never noticed");
        Assert.Equal("first", await host.RoleAsync());

        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("second"));
        await host.WaitForRoleAsync("second", "after the file was written again");
    }
}
