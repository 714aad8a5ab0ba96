namespace Iam4Kube.Testing.Sts;

/// <summary>The kinds of trouble <see cref="FakeSts"/> can be told to cause.</summary>
public enum StsFaultKind
{
    /// <summary>400, <c>Sender</c>/<c>Throttling</c>: "Rate exceeded".</summary>
    Throttling,

    /// <summary>403, <c>Sender</c>/<c>AccessDenied</c>: the caller may not assume the role.</summary>
    AccessDenied,

    /// <summary>403 <c>AccessDenied</c> for sts:TagSession, only on calls that carry session tags (the trust policy lacks it).</summary>
    TagSessionDenied,

    /// <summary>500, <c>Receiver</c>/<c>InternalFailure</c>.</summary>
    ServerError,

    /// <summary>A correct answer, after a delay.</summary>
    Latency,

    /// <summary>The TCP connection is reset once the request has been read; no HTTP response at all.</summary>
    ConnectionReset,
}
