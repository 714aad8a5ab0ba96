using System.Globalization;
using System.Net;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// A veth pair: a cable between two network namespaces (either may be <see cref="NetworkNamespace.Root"/>).
/// Disposing deletes the pair; deleting either namespace does too.
/// </summary>
public sealed class VethLink : IAsyncDisposable
{
    private static int _counter;
    private int _disposed;

    private VethLink(NetworkNamespace left, string leftDevice, NetworkNamespace right, string rightDevice)
    {
        Left = left;
        LeftDevice = leftDevice;
        Right = right;
        RightDevice = rightDevice;
    }

    public NetworkNamespace Left { get; }

    public string LeftDevice { get; }

    public NetworkNamespace Right { get; }

    public string RightDevice { get; }

    /// <summary>The left end's address when the link was made by <see cref="ConnectAsync"/>.</summary>
    public IPAddress? LeftAddress { get; private set; }

    /// <summary>The right end's address when the link was made by <see cref="ConnectAsync"/>.</summary>
    public IPAddress? RightAddress { get; private set; }

    /// <summary>Creates a veth pair with both ends up and no addresses. Device names default to unique ones
    /// (at most 15 characters, as Linux requires); inside a fresh namespace a name like "eth0" is fine.</summary>
    public static async Task<VethLink> CreateAsync(
        NetworkNamespace left,
        NetworkNamespace right,
        string? leftDevice = null,
        string? rightDevice = null,
        CancellationToken cancellationToken = default)
    {
        if (left.IsRoot && right.IsRoot)
        {
            throw new ArgumentException("At least one end of a test link must be in a test namespace.", nameof(right));
        }
        var id = string.Create(
            CultureInfo.InvariantCulture,
            $"i4k{ToBase36(Environment.ProcessId)}{ToBase36(Interlocked.Increment(ref _counter))}");
        leftDevice ??= id + "a";
        rightDevice ??= id + "b";
        // Create from the root side when there is one, so that the root end never exists under a clashing name.
        if (left.IsRoot || !right.IsRoot)
        {
            await left.IpAsync(["link", "add", leftDevice, "type", "veth", "peer", "name", rightDevice, "netns", right.Name ?? "1"], cancellationToken);
        }
        else
        {
            await right.IpAsync(["link", "add", rightDevice, "type", "veth", "peer", "name", leftDevice, "netns", left.Name!], cancellationToken);
        }
        var link = new VethLink(left, leftDevice, right, rightDevice);
        try
        {
            await left.IpAsync(["link", "set", leftDevice, "up"], cancellationToken);
            await right.IpAsync(["link", "set", rightDevice, "up"], cancellationToken);
        }
        catch
        {
            await link.DisposeAsync();
            throw;
        }
        return link;
    }

    /// <summary>Creates a link and gives its ends the two addresses of a fresh /30 from
    /// <see cref="LinkAddresses"/>, so each side reaches the other at <see cref="LeftAddress"/> /
    /// <see cref="RightAddress"/>.</summary>
    public static async Task<VethLink> ConnectAsync(NetworkNamespace left, NetworkNamespace right, CancellationToken cancellationToken = default)
    {
        var link = await CreateAsync(left, right, cancellationToken: cancellationToken);
        try
        {
            var (first, second) = LinkAddresses.AllocateSlash30();
            await left.AddAddressAsync(link.LeftDevice, $"{first}/30", cancellationToken);
            await right.AddAddressAsync(link.RightDevice, $"{second}/30", cancellationToken);
            link.LeftAddress = first;
            link.RightAddress = second;
            return link;
        }
        catch
        {
            await link.DisposeAsync();
            throw;
        }
    }

    /// <summary>Deletes the pair (no error when a namespace's deletion already removed it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        var (space, device) = Left.IsRoot ? (Left, LeftDevice) : (Right, RightDevice);
        List<string> args = space.IsRoot ? ["link", "del", device] : ["-n", space.Name!, "link", "del", device];
        await ProcessRunner.RunAsync("ip", args, timeout: TimeSpan.FromSeconds(30));
    }

    private static string ToBase36(int value)
    {
        const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var result = "";
        do
        {
            result = Digits[value % 36] + result;
            value /= 36;
        }
        while (value > 0);
        return result;
    }
}
