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

        await AssertKeptThenRecoversAsync(host, "empty", $"WRN Did not apply {host.ClusterFile}: it is empty");
        Assert.Contains("still serving the last good state", host.LogText, StringComparison.Ordinal);
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

        await AssertKeptThenRecoversAsync(host, "too_large", "it is 100,000,000 bytes, more than the 4 MiB a cluster file may have; still serving the last good state");
    }

    [Fact]
    public async Task AFifoIsRefusedAtOnceAndDoesNotBlockLaterEdits()
    {
        await using var host = await LocalModeHost.StartAsync(ClusterYaml("first"));

        File.Delete(host.ClusterFile);
        await ProcessRunner.RunCheckedAsync("mkfifo", [host.ClusterFile]);

        // Opening a FIFO without O_NONBLOCK waits for a writer, and every later reload behind it: the good version
        // written afterwards proves the loader is free.
        await AssertKeptThenRecoversAsync(host, "not_regular", "it is not a regular file (a FIFO, a socket or a device)");
    }

    /// <summary>The bad version is refused with <paramref name="outcome"/> and <paramref name="logged"/>, the last
    /// good state stays, and a good version written next (replacing whatever is there) is applied.</summary>
    private static async Task AssertKeptThenRecoversAsync(LocalModeHost host, string outcome, string logged)
    {
        await host.WaitUntilAsync(() => Task.FromResult(host.Metrics.ClusterFileLoads.WithLabels(outcome).Value >= 1), $"never refused as {outcome}");
        Assert.Equal("first", await host.RoleAsync());
        Assert.Contains(logged, host.LogText, StringComparison.Ordinal);

        File.Delete(host.ClusterFile);
        await File.WriteAllTextAsync(host.ClusterFile, ClusterYaml("second"));
        await host.WaitForRoleAsync("second", $"after the file refused as {outcome} was replaced");
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
