using Iam4Kube.Testing.Networking;
using static Iam4Kube.Tests.LocalMode.ClusterFileSourceTests;

namespace Iam4Kube.Tests.LocalMode;

/// <summary>
/// What a cluster file can be besides a good edit — empty for an instant, huge, a FIFO, a symbolic link swapped
/// as a ConfigMap volume swaps it — through the real host: the last good state keeps being served, the reason is
/// logged and counted, and the next good version is applied.
/// </summary>
public sealed class ClusterFileInputTests
{
    [Fact]
    public async Task AnEmptyFileKeepsTheLastStateWithAWarningInsteadOfRemovingEveryPod()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));

        await File.WriteAllTextAsync(host.ClusterFile, "");
        await host.WaitUntilAsync(() => Task.FromResult(host.Metrics.ClusterFileLoads.WithLabels("empty").Value >= 1), "the empty file was never noticed");

        Assert.Equal("first", await host.RoleAsync());
        Assert.Contains($"WRN Did not apply {host.ClusterFile}: it is empty", host.LogText, StringComparison.Ordinal);
        Assert.Contains("still serving the last good state", host.LogText, StringComparison.Ordinal);
        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("second"));
        await host.WaitForRoleAsync("second", "after the file was written again");
    }

    [Fact]
    public async Task AFileLargerThanTheLimitIsRefusedWithoutReadingItAndTheLastStateIsKept()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));

        // 100 MB (sparse: costs no disk), renamed over the file as an editor would.
        var huge = Path.Combine(host.Directory, "huge.yaml");
        await using (var stream = File.Create(huge))
        {
            stream.SetLength(100_000_000);
        }

        File.Move(huge, host.ClusterFile, overwrite: true);
        await host.WaitUntilAsync(() => Task.FromResult(host.Metrics.ClusterFileLoads.WithLabels("too_large").Value >= 1), "the huge file was never noticed");

        Assert.Equal("first", await host.RoleAsync());
        Assert.Contains("it is 100,000,000 bytes, more than the 4 MiB a cluster file may have; still serving the last good state", host.LogText, StringComparison.Ordinal);
        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("second"));
        await host.WaitForRoleAsync("second", "after the file was replaced");
    }

    [Fact]
    public async Task AFifoIsRefusedAtOnceAndDoesNotBlockLaterEdits()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));

        File.Delete(host.ClusterFile);
        await ProcessRunner.RunCheckedAsync("mkfifo", [host.ClusterFile]);
        await host.WaitUntilAsync(() => Task.FromResult(host.Metrics.ClusterFileLoads.WithLabels("not_regular").Value >= 1), "the FIFO was never refused");
        Assert.Equal("first", await host.RoleAsync());
        Assert.Contains("it is not a regular file (a FIFO, a socket or a device)", host.LogText, StringComparison.Ordinal);

        // Opening a FIFO without O_NONBLOCK waits for a writer, and every later reload behind it: this edit proves
        // the loader is free.
        File.Delete(host.ClusterFile);
        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("second"));
        await host.WaitForRoleAsync("second", "after the FIFO was replaced by a file");
    }

    [Fact]
    public async Task AConfigMapVolumeUpdateThatSwapsTheDataSymlinkIsSeen()
    {
        // The kubelet's atomic writer: the file is a link into `..data`, itself a link to a timestamped folder;
        // an update writes a new folder, links `..data_tmp` to it and renames that over `..data`.
        await using var host = await LocalModeHost.StartAsync(directory =>
        {
            WriteVersion(directory, "..2026_11_30_17_00_00.1", ClusterYaml("first"));
            File.CreateSymbolicLink(Path.Combine(directory, "..data"), "..2026_11_30_17_00_00.1");
            var file = Path.Combine(directory, "cluster.yaml");
            File.CreateSymbolicLink(file, "..data/cluster.yaml");
            return file;
        });
        Assert.Equal("first", await host.RoleAsync());

        WriteVersion(host.Directory, "..2026_11_30_17_05_00.2", ClusterYaml("second"));
        File.CreateSymbolicLink(Path.Combine(host.Directory, "..data_tmp"), "..2026_11_30_17_05_00.2");
        await ProcessRunner.RunCheckedAsync("mv", ["-T", Path.Combine(host.Directory, "..data_tmp"), Path.Combine(host.Directory, "..data")]);
        Directory.Delete(Path.Combine(host.Directory, "..2026_11_30_17_00_00.1"), recursive: true);

        await host.WaitForRoleAsync("second", "after the ..data symlink was swapped");
    }

    [Fact]
    public async Task EditsOfTheFileASymlinkPointsToAreSeen()
    {
        await using var host = await LocalModeHost.StartAsync(directory =>
        {
            WriteVersion(directory, "real", ClusterYaml("first"));
            Directory.CreateDirectory(Path.Combine(directory, "links"));
            var file = Path.Combine(directory, "links", "cluster.yaml");
            File.CreateSymbolicLink(file, "../real/cluster.yaml");
            return file;
        });
        Assert.Equal("first", await host.RoleAsync());

        // In place: nothing changes in the link's own folder.
        await File.WriteAllTextAsync(Path.Combine(host.Directory, "real", "cluster.yaml"), ClusterYaml("second"));
        await host.WaitForRoleAsync("second", "after the symlink's target was edited");

        // And the link pointed elsewhere, then that target edited: followed too.
        WriteVersion(host.Directory, "other", ClusterYaml("third"));
        File.Delete(host.ClusterFile);
        File.CreateSymbolicLink(host.ClusterFile, "../other/cluster.yaml");
        await host.WaitForRoleAsync("third", "after the symlink was pointed elsewhere");
        await File.WriteAllTextAsync(Path.Combine(host.Directory, "other", "cluster.yaml"), ClusterYaml("fourth"));
        await host.WaitForRoleAsync("fourth", "after the new target was edited");
    }

    private static void WriteVersion(string directory, string folder, string yaml)
    {
        Directory.CreateDirectory(Path.Combine(directory, folder));
        File.WriteAllText(Path.Combine(directory, folder, "cluster.yaml"), yaml);
    }
}
