using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Iam4Kube.Cluster;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Iam4Kube.Stores;

namespace Iam4Kube.LocalMode;

/// <summary>
/// Local mode: the view of the cluster comes from a Kubernetes YAML file (<c>--cluster-file</c>) instead of an API
/// server, and follows the file as it is edited. A file that does not parse, or holds invalid objects, is reported
/// and not applied: the last good state keeps being served until the file is fixed.
/// </summary>
internal sealed partial class ClusterFileSource : BackgroundService, IClusterSource
{
    /// <summary>Editors write a file in several steps (truncate, write, rename); load once they are done.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);

    private readonly string _file;
    private readonly string _fullPath;
    private readonly PodIndex _pods;
    private readonly ServiceAccountStore _serviceAccounts;
    private readonly NodeStore _nodes;
    private readonly Iam4KubeMetrics _metrics;
    private readonly ILogger<ClusterFileSource> _logger;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly ITimer _debounce;
    private byte[]? _lastSeen;

    public ClusterFileSource(
        Iam4KubeOptions options,
        PodIndex pods,
        ServiceAccountStore serviceAccounts,
        NodeStore nodes,
        Iam4KubeMetrics metrics,
        TimeProvider time,
        ILogger<ClusterFileSource> logger)
    {
        _file = options.ClusterFile ?? throw new ArgumentException("--cluster-file is not set", nameof(options));
        _fullPath = Path.GetFullPath(_file);
        _pods = pods;
        _serviceAccounts = serviceAccounts;
        _nodes = nodes;
        _metrics = metrics;
        _logger = logger;
        _debounce = time.CreateTimer(_ => _changed.Writer.TryWrite(true), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Completes after the first load of a valid file.</summary>
    public Task Synced => _synced.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The directory, not the file: editors and `kubectl`-style tools often write a new file and rename it over
        // the old one, which a watch on the file itself would lose. Names starting with ".." are a ConfigMap
        // volume's: the kubelet swaps the `..data` symlink to publish a new version, and the file is a link into it.
        var name = Path.GetFileName(_fullPath);
        using var directory = Watch(Path.GetDirectoryName(_fullPath)!, changed => changed == name || changed?.StartsWith("..", StringComparison.Ordinal) == true);
        FileSystemWatcher? target = null;

        // Watch first, then load: an edit made during the first load is not missed.
        Log.Watching(_logger, _file, _fullPath);
        try
        {
            target = WatchLinkTarget(target);
            Load();
            while (await _changed.Reader.WaitToReadAsync(stoppingToken))
            {
                _changed.Reader.TryRead(out _);
                // A link may point elsewhere now (a ConfigMap update, `ln -sf`): follow where it points today.
                target = WatchLinkTarget(target);
                Load();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            target?.Dispose();
        }
    }

    /// <summary>
    /// When the file is a symbolic link, also watches the directory of the file it finally points to, so that an
    /// edit of the target (which changes nothing in the link's own directory) is seen. Null for a plain file.
    /// </summary>
    private FileSystemWatcher? WatchLinkTarget(FileSystemWatcher? previous)
    {
        previous?.Dispose();
        try
        {
            if (File.ResolveLinkTarget(_fullPath, returnFinalTarget: true) is not { } target
                || Path.GetDirectoryName(target.FullName) is not { } directory || !Directory.Exists(directory))
            {
                return null;
            }

            var name = Path.GetFileName(target.FullName);
            return Watch(directory, changed => changed == name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null; // no file (yet) or a broken link: the directory watch sees it appear
        }
    }

    private FileSystemWatcher Watch(string directory, Func<string?, bool> relevant)
    {
        var watcher = new FileSystemWatcher(directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        void OnEvent(string? changed)
        {
            if (relevant(changed))
            {
                _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
            }
        }

        watcher.Changed += (_, e) => OnEvent(e.Name);
        watcher.Created += (_, e) => OnEvent(e.Name);
        watcher.Deleted += (_, e) => OnEvent(e.Name);
        watcher.Renamed += (_, e) =>
        {
            OnEvent(e.Name);
            OnEvent(e.OldName);
        };
        watcher.Error += (_, e) =>
        {
            // Events were lost (buffer overflow): the file may have changed, so read it again.
            Log.WatchError(_logger, _file, e.GetException().Message);
            _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
        };
        watcher.EnableRaisingEvents = true;
        return watcher;
    }

    public override void Dispose()
    {
        _debounce.Dispose();
        base.Dispose();
    }

    private void Load()
    {
        var read = ClusterFileReader.Read(_fullPath);
        if (read.Text is not { } text)
        {
            // Nothing is applied: the last good state stays, and the next good version is applied (and logged) anew.
            _lastSeen = null;
            if (read.Outcome == "empty")
            {
                Log.Empty(_logger, _file, read.Reason!, StateNote());
            }
            else
            {
                Log.Unreadable(_logger, _file, read.Reason!, StateNote());
            }

            _metrics.ClusterFileLoads.WithLabels(read.Outcome!).Inc();
            return;
        }

        // Saving without a change, or touching the file, must not log the same load again.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        if (_lastSeen is not null && hash.AsSpan().SequenceEqual(_lastSeen))
        {
            return;
        }

        _lastSeen = hash;
        ClusterFileContents contents;
        try
        {
            contents = ClusterFileParser.Parse(_file, text);
        }
        catch (Exception e)
        {
            // A document the parser did not foresee must not stop iam4kube: it is one more invalid edit.
            contents = new ClusterFileContents([], [], [], [], [], [new ClusterFileProblem(_file, 0, 0, null, null, $"cannot be read: {e.Message}")]);
        }

        foreach (var skipped in contents.Skipped)
        {
            Log.Skipped(_logger, skipped.File, skipped.Document, skipped.Line, skipped.Detail);
        }

        foreach (var warning in contents.Warnings)
        {
            Log.ObjectWarning(_logger, warning.File, warning.Document, warning.Line, warning.Detail);
        }

        if (!contents.IsValid)
        {
            foreach (var problem in contents.Problems)
            {
                Log.Invalid(_logger, problem.File, problem.Document, problem.Line, problem.Detail);
            }

            Log.NotApplied(_logger, _file, contents.Problems.Count, StateNote());
            _metrics.ClusterFileLoads.WithLabels("invalid").Inc();
            return;
        }

        // Nodes and ServiceAccounts before pods: a request woken by its pod's IP then finds the rest in place.
        _nodes.ReplaceAll(contents.Nodes);
        _serviceAccounts.ReplaceAll(contents.ServiceAccounts);
        _pods.ReplaceAll(contents.Pods.Select(PodInfo.FromPod).OfType<PodInfo>());
        _metrics.Objects.WithLabels("pods").Set(contents.Pods.Count);
        _metrics.Objects.WithLabels("serviceaccounts").Set(contents.ServiceAccounts.Count);
        _metrics.Objects.WithLabels("nodes").Set(contents.Nodes.Count);
        Log.Applied(_logger, _file, contents.Pods.Count, contents.ServiceAccounts.Count, contents.Nodes.Count, contents.Skipped.Count);
        _metrics.ClusterFileLoads.WithLabels("applied").Inc();
        _synced.TrySetResult();
    }

    private string StateNote() => _synced.Task.IsCompleted
        ? "still serving the last good state"
        : "nothing loaded yet, so not ready; fix the file and save it";

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Local mode: reading pods, serviceaccounts and nodes from {File} ({FullPath}) and following its changes")]
        public static partial void Watching(ILogger logger, string file, string fullPath);

        [LoggerMessage(2, LogLevel.Information, "Applied {File}: {Pods} pods, {ServiceAccounts} serviceaccounts, {Nodes} nodes ({Skipped} other objects skipped)")]
        public static partial void Applied(ILogger logger, string file, int pods, int serviceAccounts, int nodes, int skipped);

        [LoggerMessage(3, LogLevel.Error, "Invalid cluster file {File}: document {Document} (line {Line}): {Problem}")]
        public static partial void Invalid(ILogger logger, string file, int document, int line, string problem);

        [LoggerMessage(4, LogLevel.Error, "Did not apply {File}: {Count} problems (above); {State}")]
        public static partial void NotApplied(ILogger logger, string file, int count, string state);

        [LoggerMessage(5, LogLevel.Warning, "{File}: document {Document} (line {Line}): {Warning}")]
        public static partial void ObjectWarning(ILogger logger, string file, int document, int line, string warning);

        [LoggerMessage(6, LogLevel.Information, "{File}: document {Document} (line {Line}): {Skipped}")]
        public static partial void Skipped(ILogger logger, string file, int document, int line, string skipped);

        [LoggerMessage(7, LogLevel.Error, "Cannot load {File}: {Reason}; {State}")]
        public static partial void Unreadable(ILogger logger, string file, string reason, string state);

        [LoggerMessage(8, LogLevel.Warning, "Watching {File} lost events ({Reason}); reading it again")]
        public static partial void WatchError(ILogger logger, string file, string reason);

        [LoggerMessage(9, LogLevel.Warning, "Did not apply {File}: {Reason}; {State}")]
        public static partial void Empty(ILogger logger, string file, string reason, string state);
    }
}
