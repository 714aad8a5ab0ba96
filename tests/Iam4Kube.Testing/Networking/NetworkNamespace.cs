using System.Globalization;
using System.Text.RegularExpressions;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// A Linux network namespace made for one test (`ip netns add`), with a unique name, loopback up, deleted on
/// dispose together with every process still running in it. <see cref="Root"/> stands for the namespace the tests
/// run in, so that helpers can treat "the host" and "a namespace" alike.
/// </summary>
public sealed partial class NetworkNamespace : IAsyncDisposable
{
    private const string NamePrefix = "i4k";
    private static readonly TimeSpan IpTimeout = TimeSpan.FromSeconds(30);
    private static readonly SemaphoreSlim SweepOnce = new(1, 1);
    private static bool _swept;
    private static int _counter;

    private int _disposed;

    private NetworkNamespace(string? name)
    {
        Name = name;
    }

    /// <summary>The namespace this process runs in. Disposing it does nothing.</summary>
    public static NetworkNamespace Root { get; } = new(null);

    /// <summary>The `ip netns` name, or null for <see cref="Root"/>.</summary>
    public string? Name { get; }

    public bool IsRoot => Name is null;

    /// <summary>The command prefix that runs a program inside this namespace: `ip netns exec NAME` (empty for root).
    /// Product code that takes a command prefix (ip2service's iptables applier) can be handed this.</summary>
    public IReadOnlyList<string> CommandPrefix => IsRoot ? [] : ["ip", "netns", "exec", Name!];

    /// <summary>Creates a namespace named `i4k-{purpose}-{pid}-{n}` with `lo` up. Fails with a clear message when
    /// the machine cannot run network-namespace tests.</summary>
    public static async Task<NetworkNamespace> CreateAsync(string purpose = "ns", CancellationToken cancellationToken = default)
    {
        NetworkPrerequisites.EnsureNetworkNamespaces();
        if (!PurposePattern().IsMatch(purpose))
        {
            throw new ArgumentException("purpose must be lower-case letters and digits", nameof(purpose));
        }
        await SweepLeftoversAsync(cancellationToken);
        var name = string.Create(
            CultureInfo.InvariantCulture,
            $"{NamePrefix}-{purpose}-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}");
        await ProcessRunner.RunCheckedAsync("ip", ["netns", "add", name], timeout: IpTimeout, cancellationToken: cancellationToken);
        var created = new NetworkNamespace(name);
        try
        {
            await created.IpAsync(["link", "set", "lo", "up"], cancellationToken);
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
        return created;
    }

    /// <summary>Runs a program inside this namespace to completion (see <see cref="ProcessRunner.RunAsync"/>).</summary>
    public Task<ProcessResult> RunAsync(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? env = null,
        TimeSpan? timeout = null,
        string? standardInput = null,
        CancellationToken cancellationToken = default) =>
        IsRoot
            ? ProcessRunner.RunAsync(file, args, env, timeout, standardInput, cancellationToken: cancellationToken)
            : ProcessRunner.RunAsync("ip", [.. CommandPrefix.Skip(1), file, .. args], env, timeout, standardInput, cancellationToken: cancellationToken);

    /// <summary>Like <see cref="RunAsync"/>, but throws <see cref="ProcessFailedException"/> on a non-zero exit.</summary>
    public async Task<ProcessResult> RunCheckedAsync(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? env = null,
        TimeSpan? timeout = null,
        string? standardInput = null,
        CancellationToken cancellationToken = default) =>
        (await RunAsync(file, args, env, timeout, standardInput, cancellationToken: cancellationToken)).EnsureSuccess();

    /// <summary>Starts a long-running program inside this namespace; dispose the result to stop it.</summary>
    public BackgroundProcess Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env = null) =>
        IsRoot
            ? ProcessRunner.Start(file, args, env)
            : ProcessRunner.Start("ip", [.. CommandPrefix.Skip(1), file, .. args], env);

    /// <summary>Runs `ip -n NAME ARGS` (or `ip ARGS` for root) and throws if it fails.</summary>
    public Task<ProcessResult> IpAsync(IEnumerable<string> args, CancellationToken cancellationToken = default) =>
        ProcessRunner.RunCheckedAsync(
            "ip",
            IsRoot ? args : ["-n", Name!, .. args],
            timeout: IpTimeout,
            cancellationToken: cancellationToken);

    /// <summary>`ip addr add CIDR dev DEVICE`.</summary>
    public Task AddAddressAsync(string device, string cidr, CancellationToken cancellationToken = default) =>
        IpAsync(["addr", "add", cidr, "dev", device], cancellationToken);

    /// <summary>Adds ADDRESS/32 to `lo`: a local address that servers in this namespace can listen on.</summary>
    public Task AddLocalAddressAsync(string address, CancellationToken cancellationToken = default) =>
        AddAddressAsync("lo", address + "/32", cancellationToken);

    /// <summary>`ip route add DESTINATION [via GATEWAY] [dev DEVICE] [onlink]`.</summary>
    public Task AddRouteAsync(string destination, string? via = null, string? device = null, CancellationToken cancellationToken = default)
    {
        List<string> args = ["route", "add", destination];
        if (via is not null)
        {
            args.AddRange(["via", via]);
        }
        if (device is not null)
        {
            args.AddRange(["dev", device]);
        }
        return IpAsync(args, cancellationToken);
    }

    /// <summary>Sets a sysctl of this namespace (net.* keys are per namespace), e.g. net.ipv4.ip_forward.</summary>
    public Task SetSysctlAsync(string key, string value, CancellationToken cancellationToken = default) =>
        RunCheckedAsync("sysctl", ["-q", "-w", $"{key}={value}"], timeout: IpTimeout, cancellationToken: cancellationToken);

    /// <summary>Lets this namespace route packets between its interfaces, as a node does for its pods.</summary>
    public Task EnableIpForwardingAsync(CancellationToken cancellationToken = default) =>
        IsRoot
            ? throw new InvalidOperationException("Refusing to change the root namespace's forwarding setting from a test.")
            : SetSysctlAsync("net.ipv4.ip_forward", "1", cancellationToken);

    /// <summary>Kills what still runs inside and deletes the namespace (which deletes its interfaces and the veth
    /// peers of those, wherever they are). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (IsRoot || Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await DeleteAsync(Name!);
    }

    public override string ToString() => Name ?? "(root namespace)";

    private static async Task DeleteAsync(string name)
    {
        // A namespace whose processes still run lives on after `ip netns del`; the only processes in this one are
        // those that this test started in it.
        var pids = await ProcessRunner.RunAsync("ip", ["netns", "pids", name], timeout: IpTimeout);
        foreach (var pid in pids.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await ProcessRunner.RunAsync("kill", ["-KILL", pid], timeout: IpTimeout);
        }
        await ProcessRunner.RunAsync("ip", ["netns", "del", name], timeout: IpTimeout);
    }

    /// <summary>Deletes namespaces that earlier test processes (now gone, e.g. killed mid-test) left behind.</summary>
    private static async Task SweepLeftoversAsync(CancellationToken cancellationToken)
    {
        await SweepOnce.WaitAsync(cancellationToken);
        try
        {
            if (_swept)
            {
                return;
            }
            _swept = true;
            var list = await ProcessRunner.RunCheckedAsync("ip", ["netns", "list"], timeout: IpTimeout, cancellationToken: cancellationToken);
            foreach (var line in list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var match = LeftoverPattern().Match(line);
                if (match.Success && !Directory.Exists($"/proc/{match.Groups["pid"].Value}"))
                {
                    // Only the name is removed: whatever still runs in there was not started by this process.
                    await ProcessRunner.RunAsync("ip", ["netns", "del", match.Groups["name"].Value], timeout: IpTimeout, cancellationToken: cancellationToken);
                }
            }
        }
        finally
        {
            SweepOnce.Release();
        }
    }

    [GeneratedRegex("^[a-z0-9]{1,20}$")]
    private static partial Regex PurposePattern();

    [GeneratedRegex(@"^(?<name>i4k-[a-z0-9]+-(?<pid>\d+)-\d+)(\s|$)")]
    private static partial Regex LeftoverPattern();
}
