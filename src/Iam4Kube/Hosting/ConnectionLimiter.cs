using System.Net;
using Iam4Kube.Observability;
using Iam4Kube.Stores;
using Microsoft.AspNetCore.Connections;

namespace Iam4Kube.Hosting;

/// <summary>
/// Bounds the connections iam4kube holds open, as a Kestrel connection middleware on every door: at most
/// <see cref="MaxConnections"/> at once on the pod-facing doors together, at most <see cref="AdminConnections"/>
/// on the admin door (so a flood of pods' connections never starves the kubelet's probes and Prometheus), and at
/// most <see cref="MaxPerSource"/> from one source IP on each door (so one pod cannot take every slot). A refused
/// connection is closed before any byte is read: the client sees the connection end, retries, and nothing else
/// is spent on it. Each refusal counts in <c>iam4kube_connections_refused_total</c>; a warning says so at most
/// every <see cref="LogInterval"/>, with the count since the last one, so that a flood cannot flood the log too.
/// </summary>
internal sealed partial class ConnectionLimiter
{
    /// <summary>Probes, scrapes and a port-forward need few; a fixed share keeps them out of the pods' budget.</summary>
    public const int AdminConnections = 64;

    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Door, IPAddress Source), int> _perSource = [];
    private readonly Iam4KubeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ConnectionLimiter> _logger;
    private int _podFacing;
    private int _admin;
    private int _refusedSinceLog;
    private long _lastLog = long.MinValue;

    // descriptorsAllow: connections the open-file limit leaves room for (DescriptorBudget), null when unknown.
    public ConnectionLimiter(int maxConnections, int maxPerSource, int? descriptorsAllow, Iam4KubeMetrics metrics, TimeProvider time, ILogger<ConnectionLimiter> logger)
    {
        MaxConnections = Math.Max(1, Math.Min(maxConnections, descriptorsAllow ?? int.MaxValue));
        MaxPerSource = maxPerSource;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        if (MaxConnections < maxConnections)
        {
            Log.DescriptorBound(logger, MaxConnections, maxConnections, DescriptorBudget.Reserve + AdminConnections);
        }

        _metrics.ConnectionLimit.WithLabels("pod-facing").Set(MaxConnections);
        _metrics.ConnectionLimit.WithLabels("admin").Set(AdminConnections);
        _metrics.ConnectionLimit.WithLabels("per-source").Set(maxPerSource);
    }

    public int MaxConnections { get; }

    public int MaxPerSource { get; }

    /// <summary>Connections open now on the pod-facing doors (for tests).</summary>
    public int PodFacingOpen => Volatile.Read(ref _podFacing);

    /// <summary>The connection middleware for <paramref name="door"/>'s listener.</summary>
    public Func<ConnectionDelegate, ConnectionDelegate> For(string door) => next => async connection =>
    {
        var source = connection.RemoteEndPoint is IPEndPoint remote ? PodInfo.Normalize(remote.Address) : IPAddress.None;
        if (TryOpen(door, source) is { } refusal)
        {
            _metrics.ConnectionsRefused.WithLabels(door, refusal).Inc();
            LogRefusal(door, source, refusal);
            return; // Kestrel closes the socket: no byte read, no request parsed.
        }

        _metrics.OpenConnections.WithLabels(door).Inc();
        try
        {
            await next(connection);
        }
        finally
        {
            Close(door, source);
            _metrics.OpenConnections.WithLabels(door).Dec();
        }
    };

    /// <summary>Null when the connection may open, else the refusal's metric label.</summary>
    private string? TryOpen(string door, IPAddress source)
    {
        lock (_gate)
        {
            var admin = door == Doors.Admin;
            if (admin ? _admin >= AdminConnections : _podFacing >= MaxConnections)
            {
                return "max_connections";
            }

            _perSource.TryGetValue((door, source), out var fromSource);
            if (fromSource >= MaxPerSource)
            {
                return "max_connections_per_source";
            }

            _perSource[(door, source)] = fromSource + 1;
            if (admin)
            {
                _admin++;
            }
            else
            {
                _podFacing++;
            }

            return null;
        }
    }

    private void Close(string door, IPAddress source)
    {
        lock (_gate)
        {
            var left = _perSource[(door, source)] - 1;
            if (left == 0)
            {
                _perSource.Remove((door, source)); // the dictionary holds only sources with open connections
            }
            else
            {
                _perSource[(door, source)] = left;
            }

            if (door == Doors.Admin)
            {
                _admin--;
            }
            else
            {
                _podFacing--;
            }
        }
    }

    private void LogRefusal(string door, IPAddress source, string refusal)
    {
        var refused = Interlocked.Increment(ref _refusedSinceLog);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastLog);
        if (last != long.MinValue && _time.GetElapsedTime(last, now) < LogInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lastLog, now, last) != last)
        {
            return; // another refusal is logging right now
        }

        refused = Interlocked.Exchange(ref _refusedSinceLog, 0);
        var limit = refusal == "max_connections"
            ? door == Doors.Admin ? $"{AdminConnections} connections open on the admin door" : $"{MaxConnections} connections open (--max-connections)"
            : $"{MaxPerSource} connections open from one source IP (--max-connections-per-source)";
        Log.Refusing(_logger, refused, door, limit, source.ToString(), LogInterval.TotalSeconds);
    }

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Warning, "Accepting at most {Connections} connections at once instead of --max-connections {Flag}: the open-file limit (ulimit -n) leaves room for no more, after the descriptors open now and {Reserve} kept for the API server, STS, threads and the admin door. Raise the limit to accept more")]
        public static partial void DescriptorBound(ILogger logger, int connections, int flag, int reserve);

        [LoggerMessage(1, LogLevel.Warning, "Refused {Refused} connections on the {Door} door: {Limit} (last from {Source}); at most one such line every {Seconds}s")]
        public static partial void Refusing(ILogger logger, int refused, string door, string limit, string source, double seconds);
    }
}
