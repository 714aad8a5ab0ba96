using System.Net;
using Iam4Kube.Testing.Networking;

namespace Ip2Service.Tests.EndToEnd;

/// <summary>
/// The end-to-end topology: a pod namespace behind a "node" namespace (IP forwarding on) where ip2service runs; the
/// node reaches the root namespace's in-process servers (fake API, iam4kube) through a <see cref="LoopbackBridge"/>,
/// and the root namespace routes the pod IP back through the node (the route goes away with the bridge's veth).
/// </summary>
internal sealed class PodBehindNode : IAsyncDisposable
{
    private PodBehindNode(NetworkNamespace node, LoopbackBridge bridge, PodNetwork pod)
    {
        Node = node;
        Bridge = bridge;
        Pod = pod;
    }

    public NetworkNamespace Node { get; }

    public LoopbackBridge Bridge { get; }

    public PodNetwork Pod { get; }

    public IPAddress PodIp => Pod.PodIp;

    public static async Task<PodBehindNode> CreateAsync()
    {
        var node = await NetworkNamespace.CreateAsync("node");
        LoopbackBridge? bridge = null;
        try
        {
            await node.EnableIpForwardingAsync();
            bridge = await LoopbackBridge.CreateAsync(node);
            var pod = await PodNetwork.CreateAsync(LinkAddresses.AllocateAddress(), host: node, purpose: "pod");
            try
            {
                await NetworkNamespace.Root.AddRouteAsync($"{pod.PodIp}/32", via: bridge.NamespaceAddress.ToString(), device: bridge.Link.LeftDevice);
            }
            catch
            {
                await pod.DisposeAsync();
                throw;
            }

            return new PodBehindNode(node, bridge, pod);
        }
        catch
        {
            if (bridge is not null)
            {
                await bridge.DisposeAsync();
            }

            await node.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Pod.DisposeAsync();
        await Bridge.DisposeAsync();
        await Node.DisposeAsync();
    }
}
