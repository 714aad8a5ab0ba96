namespace Iam4Kube.Testing.Sts;

/// <summary>A fault <see cref="FakeSts"/> injects into AssumeRole calls, until it is healed.</summary>
public sealed record StsFault
{
    private StsFault(StsFaultKind kind, TimeSpan delay)
    {
        Kind = kind;
        Delay = delay;
    }

    public StsFaultKind Kind { get; }

    /// <summary>For <see cref="StsFaultKind.Latency"/>: how long each answer is held back.</summary>
    public TimeSpan Delay { get; }

    /// <summary>400 <c>Throttling</c> "Rate exceeded", as STS answers a caller over its request rate.</summary>
    public static StsFault Throttling { get; } = new(StsFaultKind.Throttling, TimeSpan.Zero);

    /// <summary>403 <c>AccessDenied</c>: "User: ... is not authorized to perform: sts:AssumeRole on resource: ...".</summary>
    public static StsFault AccessDenied { get; } = new(StsFaultKind.AccessDenied, TimeSpan.Zero);

    /// <summary>
    /// A trust policy without sts:TagSession: calls with session tags get 403 <c>AccessDenied</c> "… is not authorized to
    /// perform: sts:TagSession …"; calls without tags succeed.
    /// </summary>
    public static StsFault TagSessionDenied { get; } = new(StsFaultKind.TagSessionDenied, TimeSpan.Zero);

    /// <summary>500 <c>InternalFailure</c>.</summary>
    public static StsFault ServerError { get; } = new(StsFaultKind.ServerError, TimeSpan.Zero);

    /// <summary>The connection is reset after the request is read: the client sees a transport error, no response.</summary>
    public static StsFault ConnectionReset { get; } = new(StsFaultKind.ConnectionReset, TimeSpan.Zero);

    /// <summary>Correct answers (fresh credentials, minted on arrival) held back by <paramref name="delay"/>.</summary>
    public static StsFault Latency(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return new StsFault(StsFaultKind.Latency, delay);
    }
}
