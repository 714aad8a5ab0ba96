using System.Threading.Channels;
using Ip2Service.Iptables;
using Ip2Service.Rules;

namespace Ip2Service.Tests.TestSupport;

/// <summary>An <see cref="IIptables"/> that keeps its tables in memory and applies iptables-restore --noflush input
/// the way iptables-restore does for the commands ip2service writes (declare a chain = create or empty it, -A, -I,
/// -D, -F, -X); records every restore input (for tests to await) and can be told to fail. Saves print rules as they
/// were written, which is all ip2service relies on: it compares saves with saves.</summary>
internal sealed class FakeIptables(IpFamily family = IpFamily.V4) : IIptables
{
    private readonly Channel<string> _restores = Channel.CreateUnbounded<string>();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<string>> _chains = new()
    {
        ["filter/INPUT"] = [], ["filter/FORWARD"] = [], ["filter/OUTPUT"] = [],
        ["nat/PREROUTING"] = [], ["nat/INPUT"] = [], ["nat/OUTPUT"] = [], ["nat/POSTROUTING"] = [],
    };
    private int _failuresLeft;

    public IptablesBackend Backend => IptablesBackend.Nft;

    public IpFamily Family { get; } = family;

    public int Restores { get; private set; }

    public int Saves { get; private set; }

    /// <summary>The next <paramref name="count"/> restores throw, as a broken iptables would.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    public Task<IptablesSnapshot> SaveAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Saves++;
            return Task.FromResult(new IptablesSnapshot(
                [.. _chains.Keys],
                [.. _chains.SelectMany(c => c.Value.Select(spec => new SavedRule(c.Key[..c.Key.IndexOf('/')], c.Key[(c.Key.IndexOf('/') + 1)..], spec)))]));
        }
    }

    public Task RestoreAsync(string input, CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            _restores.Writer.TryWrite("FAILED\n" + input);
            throw new IptablesCommandException("`iptables-nft-restore --noflush` exited with 1: simulated");
        }
        Change(input);
        Restores++;
        _restores.Writer.TryWrite(input);
        return Task.CompletedTask;
    }

    /// <summary>Someone else's change (a firewall reload, an operator): applied like a restore, not recorded.</summary>
    public void Change(string input)
    {
        lock (_lock)
        {
            string? table = null;
            foreach (var line in input.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var words = line.Split(' ', 3);
                switch (words[0])
                {
                    case var t when t.StartsWith('*'):
                        table = t[1..];
                        break;
                    case var c when c.StartsWith(':'):
                        _chains[$"{table}/{c[1..]}"] = [];
                        break;
                    case "-A":
                        _chains[$"{table}/{words[1]}"].Add(words[2]);
                        break;
                    case "-I":
                        var rest = words[2].Split(' ', 2);
                        _chains[$"{table}/{words[1]}"].Insert(int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) - 1, rest[1]);
                        break;
                    case "-D":
                        if (!_chains[$"{table}/{words[1]}"].Remove(words[2]))
                        {
                            throw new IptablesCommandException($"simulated: no such rule in {words[1]}: {words[2]}");
                        }
                        break;
                    case "-F":
                        _chains[$"{table}/{words[1]}"].Clear();
                        break;
                    case "-X":
                        _chains.Remove($"{table}/{words[1]}");
                        break;
                    default:
                        // "#" comments and COMMIT.
                        break;
                }
            }
        }
    }

    /// <summary>The rules of one chain as a save would print them.</summary>
    public IReadOnlyList<string> RulesOf(string table, string chain)
    {
        lock (_lock)
        {
            return [.. _chains[$"{table}/{chain}"]];
        }
    }

    /// <summary>The next restore input (failed attempts start with "FAILED").</summary>
    public async Task<string> NextRestoreAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _restores.Reader.ReadAsync(cts.Token);
    }
}
