namespace Ip2Service.Hosting;

/// <summary>The command line is wrong; ip2service prints the message and exits with code 2.</summary>
internal sealed class CommandLineException : Exception
{
    public CommandLineException()
    {
    }

    public CommandLineException(string message)
        : base(message)
    {
    }

    public CommandLineException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
