using System.Collections.Concurrent;
using System.Threading.Channels;
using Iam4Kube.Credentials;
using Iam4Kube.Roles;

namespace Iam4Kube.Tests.Credentials;

/// <summary>An <see cref="ICredentialIssuer"/> whose answers the test decides, and which records every call.</summary>
internal sealed class ScriptedIssuer(TimeProvider time) : ICredentialIssuer
{
    private readonly Channel<IamRole> _calls = Channel.CreateUnbounded<IamRole>();
    private int _issued;

    public ConcurrentQueue<IamRole> Calls { get; } = new();

    /// <summary>When set, every call fails with it.</summary>
    public CredentialIssueException? Failure { get; set; }

    public TimeSpan? Lifetime { get; set; }

    /// <summary>This node's clock minus STS's, as the issuer would measure it from STS's Date header.</summary>
    public TimeSpan? ClockSkew { get; set; }

    public async Task<RoleCredentials> IssueAsync(IamRole role, TimeSpan duration, CancellationToken cancellationToken)
    {
        Calls.Enqueue(role);
        await _calls.Writer.WriteAsync(role, cancellationToken);
        if (Failure is { } failure)
        {
            throw failure;
        }

        var n = Interlocked.Increment(ref _issued);
        var now = time.GetUtcNow();
        return new RoleCredentials($"ASIASCRIPTED{n:D8}", $"secret-{n}", $"token-{n}", now + (Lifetime ?? duration), now) { StsClockSkew = ClockSkew };
    }

    /// <summary>Waits for the next call (test side).</summary>
    public async Task<IamRole> NextCallAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _calls.Reader.ReadAsync(cts.Token);
    }

    public bool HasPendingCall => _calls.Reader.TryPeek(out _);
}
