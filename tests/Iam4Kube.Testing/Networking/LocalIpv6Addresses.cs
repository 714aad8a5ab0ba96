using System.Globalization;
using System.Net;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// Real IPv6 source addresses for clients in the test process, the IPv6 counterpart of "any 127.x.y.z works":
/// IPv6 loopback is only ::1 (binding another address fails unless it is assigned), and an IPv4-mapped address on a
/// dual-stack socket is IPv4 on the wire. So the addresses are assigned (nodad: usable at once) to the root end of a
/// veth whose other end lives in a throw-away namespace. Assigned in the root namespace they are local there: a
/// client binds one, connects to a server listening on [::], and the kernel delivers over loopback with that source
/// address, which the server sees as its peer. Deleting the namespace deletes the veth and its addresses, so a
/// crashed run leaves nothing behind (the namespace sweep removes the rest). Addresses come from a ULA prefix chosen
/// by process id, so that test assemblies running at the same time do not collide.
/// </summary>
public sealed class LocalIpv6Addresses : IAsyncDisposable
{
    private static int _next;

    private readonly NetworkNamespace _peer;

    private LocalIpv6Addresses(NetworkNamespace peer, IReadOnlyList<IPAddress> addresses)
    {
        _peer = peer;
        Addresses = addresses;
    }

    public IReadOnlyList<IPAddress> Addresses { get; }

    /// <summary>Assigns <paramref name="count"/> fresh addresses (at most 256 per call) in the root namespace.</summary>
    public static async Task<LocalIpv6Addresses> CreateAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 256);
        var peer = await NetworkNamespace.CreateAsync("v6src", cancellationToken);
        try
        {
            var link = await VethLink.CreateAsync(NetworkNamespace.Root, peer, cancellationToken: cancellationToken);
            var block = Interlocked.Increment(ref _next);
            var addresses = Enumerable.Range(1, count)
                .Select(i => IPAddress.Parse(string.Create(
                    CultureInfo.InvariantCulture,
                    $"fd69:3461:6b{block % 256:x2}:{Environment.ProcessId % 65536:x}::{i:x}")))
                .ToList();
            // One `ip -batch` instead of a process per address.
            var batch = Path.GetTempFileName();
            try
            {
                await File.WriteAllLinesAsync(batch, addresses.Select(a => $"addr add {a}/128 dev {link.LeftDevice} nodad"), cancellationToken);
                await NetworkNamespace.Root.IpAsync(["-6", "-batch", batch], cancellationToken);
            }
            finally
            {
                File.Delete(batch);
            }
            return new LocalIpv6Addresses(peer, addresses);
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }

    /// <summary>Deletes the namespace, and with it the veth and every address.</summary>
    public ValueTask DisposeAsync() => _peer.DisposeAsync();
}
