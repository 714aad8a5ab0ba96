using System.Diagnostics;
using Iam4Kube.LocalMode;
using Iam4Kube.Testing.Networking;

namespace Iam4Kube.Tests.LocalMode;

/// <summary>Reading the cluster file: only regular files, at most 4 MiB, never an empty one, all in bounded time and memory.</summary>
public sealed class ClusterFileReaderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("iam4kube-reader-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void AHundredMegabyteFileIsRefusedWithoutBeingRead()
    {
        var file = Path.Combine(_directory, "huge.yaml");
        using (var stream = File.Create(file))
        {
            stream.SetLength(100_000_000);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var read = ClusterFileReader.Read(file);

        Assert.Equal("too_large", read.Outcome);
        Assert.Null(read.Text);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "the huge file was read into memory");
    }

    [Fact]
    public void AFileThatIsLongerThanItsSizeSaysIsCutOffAtTheLimit()
    {
        // A character device reports size 0 and never ends.
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var read = ClusterFileReader.Read("/dev/zero");

        Assert.Equal("too_large", read.Outcome);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 3 * ClusterFileReader.MaxBytes, "reading did not stop at the limit");
    }

    [Fact]
    public async Task AFifoIsRefusedAtOnceRatherThanWaitingForAWriter()
    {
        var fifo = Path.Combine(_directory, "cluster.yaml");
        await ProcessRunner.RunCheckedAsync("mkfifo", [fifo]);
        var started = Stopwatch.StartNew();

        // Off the test thread, with a bound: without O_NONBLOCK, open() would wait for a writer forever.
        var read = await Task.Run(() => ClusterFileReader.Read(fifo)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("not_regular", read.Outcome);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"refusing the FIFO took {started.Elapsed}");
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n  \n\t\n")]
    [InlineData("\uFEFF")]
    public void AnEmptyOrBlankFileIsRefusedAsEmpty(string content)
    {
        var file = Path.Combine(_directory, "cluster.yaml");
        File.WriteAllText(file, content);

        Assert.Equal("empty", ClusterFileReader.Read(file).Outcome);
    }

    [Fact]
    public void ACommentAloneIsAFileWithNoObjectsNotAnEmptyOne()
    {
        var file = Path.Combine(_directory, "cluster.yaml");
        File.WriteAllText(file, "# no pods for now\n");

        var read = ClusterFileReader.Read(file);

        Assert.Null(read.Outcome);
        Assert.Equal("# no pods for now\n", read.Text);
    }

    [Fact]
    public void AMissingFileIsUnreadable()
    {
        var read = ClusterFileReader.Read(Path.Combine(_directory, "missing.yaml"));

        Assert.Equal("unreadable", read.Outcome);
        Assert.Contains("no such file", read.Reason, StringComparison.Ordinal);
    }
}
