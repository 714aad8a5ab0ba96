using System.Net;

namespace Iam4Kube.Testing.Networking;

/// <summary>
/// Makes servers that a test runs in-process on 127.0.0.1 (the fake Kubernetes API server, WireMock for STS) reachable
/// from programs inside a network namespace, whose own 127.0.0.1 is a different loopback: a veth from the root
/// namespace to the target namespace, plus a <see cref="TcpRelay"/> per exposed server on the root end.
/// Programs inside also reach the test process at <see cref="RootAddress"/> (e.g. an admin port the other way round:
/// the test reaches them at <see cref="NamespaceAddress"/>).
/// <code>
/// await using var bridge = await LoopbackBridge.CreateAsync(node);
/// var apiFromNode = bridge.Expose(api.BaseAddress);   // http://100.64.x.1:port/
/// </code>
/// </summary>
public sealed class LoopbackBridge : IAsyncDisposable
{
    private readonly List<TcpRelay> _relays = [];

    private LoopbackBridge(VethLink link)
    {
        Link = link;
    }

    public VethLink Link { get; }

    /// <summary>The root end's address, where exposed servers are relayed.</summary>
    public IPAddress RootAddress => Link.LeftAddress!;

    /// <summary>The namespace end's address: where the test reaches servers running inside the namespace.</summary>
    public IPAddress NamespaceAddress => Link.RightAddress!;

    public static async Task<LoopbackBridge> CreateAsync(NetworkNamespace target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.IsRoot)
        {
            throw new ArgumentException("The root namespace reaches its own loopback already.", nameof(target));
        }
        return new LoopbackBridge(await VethLink.ConnectAsync(NetworkNamespace.Root, target, cancellationToken));
    }

    /// <summary>Relays a fresh port on <see cref="RootAddress"/> to <paramref name="server"/>; returns the endpoint
    /// that programs in the namespace connect to.</summary>
    public IPEndPoint Expose(IPEndPoint server)
    {
        var relay = TcpRelay.Start(new IPEndPoint(RootAddress, 0), server);
        lock (_relays)
        {
            _relays.Add(relay);
        }
        return relay.LocalEndPoint;
    }

    /// <summary><see cref="Expose(IPEndPoint)"/> for a URL such as http://127.0.0.1:43210/: the same URL with the
    /// relay's address and port.</summary>
    public Uri Expose(Uri server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var relayed = Expose(new IPEndPoint(IPAddress.Parse(server.Host), server.Port));
        return new UriBuilder(server) { Host = relayed.Address.ToString(), Port = relayed.Port }.Uri;
    }

    public async ValueTask DisposeAsync()
    {
        TcpRelay[] relays;
        lock (_relays)
        {
            relays = [.. _relays];
        }
        foreach (var relay in relays)
        {
            await relay.DisposeAsync();
        }
        await Link.DisposeAsync();
    }
}
