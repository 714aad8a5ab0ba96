using System.Net;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// Hands out small subnets for test links from 100.64.0.0/10 (carrier-grade NAT space, which a CI machine's own
/// networks do not use). Each test process draws from its own slice, chosen by process id, so that test
/// assemblies running at the same time do not put the same address into the root namespace.
/// </summary>
public static class LinkAddresses
{
    private static int _next = -1;

    /// <summary>A fresh /30: two usable addresses, for the two ends of one link.</summary>
    public static (IPAddress First, IPAddress Second) AllocateSlash30()
    {
        // 100.64.0.0/10 holds 2^20 /30s: 12 bits of process slice, 8 bits of per-process counter. Two test
        // processes whose ids share a slice are told apart by skipping subnets already on an interface here.
        var slice = Environment.ProcessId % 4096;
        while (true)
        {
            var index = Interlocked.Increment(ref _next);
            if (index >= 256)
            {
                throw new InvalidOperationException("This test process used up its 256 link subnets.");
            }
            var subnet = (100u << 24) | (64u << 16) | ((uint)slice << 10) | ((uint)index << 2);
            var (first, second) = (ToAddress(subnet + 1), ToAddress(subnet + 2));
            if (!InUse(first) && !InUse(second))
            {
                return (first, second);
            }
        }
    }

    private static bool InUse(IPAddress address) =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Any(a => a.Address.Equals(address));

    /// <summary>A fresh address that no other link of this process uses (the first of a fresh /30).</summary>
    public static IPAddress AllocateAddress() => AllocateSlash30().First;

    private static IPAddress ToAddress(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
}
