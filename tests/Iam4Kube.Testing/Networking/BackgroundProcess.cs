using System.Diagnostics;
using System.Text;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// A long-running process started by a test (a backend server, ip2service run, iam4kube). Its stdout and stderr
/// lines are captured, and a test can wait for a line that says it is ready. Disposing stops it (SIGTERM, then
/// SIGKILL after a grace period) and waits for it to exit.
/// </summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopGracePeriod = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Predicate, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;

    internal BackgroundProcess(Process process, string commandLine)
    {
        _process = process;
        CommandLine = commandLine;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        ProcessRunner.StartOrExplain(_process, commandLine);
        Id = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id { get; }

    public string CommandLine { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Every line written so far to stdout and stderr, interleaved in arrival order.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>How many lines were written so far: a mark for <see cref="WaitForLineAsync(Func{string, bool}, TimeSpan, int)"/>.</summary>
    public int LineCount
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>All output so far, one line per line, for assertion messages.</summary>
    public string Output
    {
        get
        {
            var builder = new StringBuilder();
            foreach (var line in Lines)
            {
                builder.Append(line).Append('\n');
            }
            return builder.ToString();
        }
    }

    /// <summary>Waits for a line (already written or still to come) matching <paramref name="predicate"/>, looking
    /// only at lines from index <paramref name="startAt"/> on (pass <see cref="LineCount"/> taken before an action to
    /// wait for what the process writes after it). Throws <see cref="TimeoutException"/> with the output so far, or
    /// <see cref="InvalidOperationException"/> if the process exits first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout, int startAt = 0)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            var existing = _lines.Skip(startAt).FirstOrDefault(predicate);
            if (existing is not null)
            {
                return existing;
            }
            _waiters.Add((predicate, found));
        }
        try
        {
            var finished = await Task.WhenAny(found.Task, _outputClosed.Task, Task.Delay(timeout));
            if (finished == found.Task)
            {
                return await found.Task;
            }
            if (found.Task.IsCompleted)
            {
                return await found.Task;
            }
            if (finished == _outputClosed.Task)
            {
                throw new InvalidOperationException(
                    $"`{CommandLine}` exited before writing the expected line.\n--- output ---\n{Output}");
            }
            throw new TimeoutException(
                $"`{CommandLine}` did not write the expected line within {timeout}.\n--- output ---\n{Output}");
        }
        finally
        {
            lock (_lines)
            {
                _waiters.RemoveAll(w => w.Found == found);
            }
        }
    }

    /// <summary>Waits for a line containing <paramref name="text"/> (ordinal comparison); see the other overload.</summary>
    public Task<string> WaitForLineAsync(string text, TimeSpan timeout, int startAt = 0) =>
        WaitForLineAsync(line => line.Contains(text, StringComparison.Ordinal), timeout, startAt);

    /// <summary>Waits for the process to exit on its own and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"`{CommandLine}` did not exit within {timeout}.\n--- output ---\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, waits up to <paramref name="gracePeriod"/>, then kills the process tree. Returns the
    /// exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? gracePeriod = null)
    {
        if (!_process.HasExited)
        {
            // .NET can only SIGKILL; ask politely first so the process can shut down as it would in a pod.
            await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var cts = new CancellationTokenSource(gracePeriod ?? StopGracePeriod);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                ProcessRunner.KillQuietly(_process);
            }
        }
        await _process.WaitForExitAsync(CancellationToken.None);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _openStreams) == 0)
            {
                _outputClosed.TrySetResult();
            }
            return;
        }
        lock (_lines)
        {
            _lines.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Predicate(line)))
            {
                waiter.Found.TrySetResult(line);
            }
        }
    }
}
