namespace Ip2Service.Iptables;

/// <summary>An iptables command failed; the message carries the command and what it printed on stderr.</summary>
internal sealed class IptablesCommandException : Exception
{
    public IptablesCommandException()
    {
    }

    public IptablesCommandException(string message)
        : base(message)
    {
    }

    public IptablesCommandException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The program could not be started at all (that backend is not installed).</summary>
    public bool NotInstalled { get; init; }
}
