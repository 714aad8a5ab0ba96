using System.Diagnostics;
using System.Text;

namespace Iam4Kube.Tests.LocalMode;

/// <summary>A process started by a test, its output captured. Disposing kills it if it still runs.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="file"/>; <paramref name="environment"/> entries set (or, when null, remove) variables.</summary>
    public static ChildProcess Start(string file, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        if (!File.Exists(file))
        {
            throw new InvalidOperationException($"{file} does not exist: it is needed for this test (./test.sh installs what the tests need)");
        }

        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var child = new ChildProcess(new Process { StartInfo = start });
        child._process.OutputDataReceived += (_, e) => Append(child._output, e.Data);
        child._process.ErrorDataReceived += (_, e) => Append(child._error, e.Data);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs to completion; returns the exit code.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(
        string file, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        await using var child = Start(file, arguments, workingDirectory, environment);
        var exitCode = await child.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return (exitCode, child.Output, child.Error);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit within {timeout}.\nstdout:\n{Output}\nstderr:\n{Error}");
        }

        return _process.ExitCode;
    }

    /// <summary>The <c>dotnet</c> running these tests (the SDK sets DOTNET_HOST_PATH), else the one on PATH.</summary>
    public static string Dotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "dotnet"))
            .FirstOrDefault(File.Exists) ?? throw new InvalidOperationException("no dotnet executable found");
    }

    /// <summary>The iam4kube build that sits next to the test binaries (the test project references it).</summary>
    public static string Iam4KubeAssembly()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "iam4kube.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("iam4kube.dll is not next to the tests", path);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (buffer)
        {
            buffer.Append(line).Append('\n');
        }
    }
}
