using System.Collections.Concurrent;
using Iam4Kube.Waiting;
using k8s.Models;

namespace Iam4Kube.Stores;

/// <summary>Nodes by name, for the placement (region, zone) of the pods running on them.</summary>
internal sealed class NodeStore
{
    private readonly Lock _writer = new();
    private readonly ConcurrentDictionary<string, NodeInfo> _nodes = new(StringComparer.Ordinal);

    public KeyedSignal<string> Changed { get; } = new();

    public int Count => _nodes.Count;

    public NodeInfo? Get(string name) => _nodes.TryGetValue(name, out var node) ? node : null;

    public void Upsert(V1Node node)
    {
        if (NodeInfo.FromNode(node) is not { } info)
        {
            return;
        }

        lock (_writer)
        {
            _nodes[info.Name] = info;
        }

        Changed.Pulse(info.Name);
    }

    public void Remove(V1Node node)
    {
        if (node.Metadata?.Name is not { } name)
        {
            return;
        }

        lock (_writer)
        {
            _nodes.TryRemove(name, out _);
        }

        Changed.Pulse(name);
    }

    public void ReplaceAll(IEnumerable<V1Node> nodes) => ReplaceAll(nodes.Select(NodeInfo.FromNode).OfType<NodeInfo>());

    public void ReplaceAll(IEnumerable<NodeInfo> nodes)
    {
        var fresh = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        lock (_writer)
        {
            foreach (var name in _nodes.Keys.Where(n => !fresh.ContainsKey(n)).ToList())
            {
                _nodes.TryRemove(name, out _);
            }

            foreach (var (name, info) in fresh)
            {
                _nodes[name] = info;
            }
        }

        Changed.PulseAll();
    }
}
