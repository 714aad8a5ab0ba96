using System.Net;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// A "pod": a fresh network namespace whose only interface, eth0, has the pod IP (/32) and whose default route
/// goes through a veth to a host namespace (the root namespace unless told otherwise), the way CNI plugins such as
/// Calico wire pods. Everything the pod sends, including to 169.254.169.254, arrives at the host with the pod IP as
/// its source; the host routes the pod IP back through the veth.
/// <code>
/// await using var pod = await PodNetwork.CreateAsync(IPAddress.Parse("10.77.0.5"));
/// var result = await pod.Namespace.RunAsync("/usr/bin/python3", ["-c", "..."]);
/// </code>
/// The pod IP must not be used elsewhere in the host namespace.
/// </summary>
public sealed class PodNetwork : IAsyncDisposable
{
    private PodNetwork(NetworkNamespace pod, NetworkNamespace host, VethLink link, IPAddress podIp, IPAddress gatewayIp)
    {
        Namespace = pod;
        Host = host;
        Link = link;
        PodIp = podIp;
        GatewayIp = gatewayIp;
    }

    /// <summary>The pod's namespace: run clients here.</summary>
    public NetworkNamespace Namespace { get; }

    /// <summary>The namespace the pod's traffic goes to (its "node").</summary>
    public NetworkNamespace Host { get; }

    /// <summary>The veth: <see cref="VethLink.Left"/> is the host end, <see cref="VethLink.Right"/> the pod's eth0.</summary>
    public VethLink Link { get; }

    public IPAddress PodIp { get; }

    /// <summary>The host end's address: the pod's default gateway, and where the pod reaches servers that
    /// listen on the host's wildcard address.</summary>
    public IPAddress GatewayIp { get; }

    /// <summary>Creates the pod namespace and wires it to <paramref name="host"/> (default: the root namespace).
    /// <paramref name="gatewayIp"/> defaults to a fresh address from <see cref="LinkAddresses"/>.</summary>
    public static async Task<PodNetwork> CreateAsync(
        IPAddress podIp,
        NetworkNamespace? host = null,
        IPAddress? gatewayIp = null,
        string purpose = "pod",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(podIp);
        if (podIp.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ArgumentException("Pod IPs are IPv4 here.", nameof(podIp));
        }
        host ??= NetworkNamespace.Root;
        gatewayIp ??= LinkAddresses.AllocateAddress();
        var pod = await NetworkNamespace.CreateAsync(purpose, cancellationToken);
        try
        {
            var link = await VethLink.CreateAsync(host, pod, rightDevice: "eth0", cancellationToken: cancellationToken);
            await host.AddAddressAsync(link.LeftDevice, $"{gatewayIp}/32", cancellationToken);
            await host.IpAsync(["route", "add", $"{podIp}/32", "dev", link.LeftDevice], cancellationToken);
            await pod.AddAddressAsync("eth0", $"{podIp}/32", cancellationToken);
            await pod.IpAsync(["route", "add", gatewayIp.ToString(), "dev", "eth0", "scope", "link"], cancellationToken);
            await pod.IpAsync(["route", "add", "default", "via", gatewayIp.ToString(), "dev", "eth0"], cancellationToken);
            return new PodNetwork(pod, host, link, podIp, gatewayIp);
        }
        catch
        {
            // Deleting the namespace deletes the veth pair and with it the host end's address and route.
            await pod.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a program inside the pod to completion.</summary>
    public Task<ProcessResult> RunAsync(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? env = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) =>
        Namespace.RunAsync(file, args, env, timeout, cancellationToken: cancellationToken);

    /// <summary>Starts a long-running program inside the pod.</summary>
    public BackgroundProcess Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env = null) =>
        Namespace.Start(file, args, env);

    /// <summary>Deletes the pod namespace, which removes the veth pair and the host's route to the pod.</summary>
    public ValueTask DisposeAsync() => Namespace.DisposeAsync();
}
