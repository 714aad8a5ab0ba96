using System.Threading.Channels;
using Ip2Service.Iptables;

namespace Ip2Service.Tests.TestSupport;

/// <summary>An <see cref="IIptables"/> that records every restore input (for tests to await) and can be told to
/// fail.</summary>
internal sealed class FakeIptables : IIptables
{
    private readonly Channel<string> _restores = Channel.CreateUnbounded<string>();
    private int _failuresLeft;

    public IptablesBackend Backend => IptablesBackend.Nft;

    public int Restores { get; private set; }

    /// <summary>The next <paramref name="count"/> restores throw, as a broken iptables would.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    public Task<IptablesSnapshot> SaveAsync(CancellationToken cancellationToken) => Task.FromResult(IptablesSnapshot.Empty);

    public Task RestoreAsync(string input, CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            _restores.Writer.TryWrite("FAILED\n" + input);
            throw new IptablesCommandException("`iptables-nft-restore --noflush` exited with 1: simulated");
        }
        Restores++;
        _restores.Writer.TryWrite(input);
        return Task.CompletedTask;
    }

    /// <summary>The next restore input (failed attempts start with "FAILED").</summary>
    public async Task<string> NextRestoreAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _restores.Reader.ReadAsync(cts.Token);
    }
}
