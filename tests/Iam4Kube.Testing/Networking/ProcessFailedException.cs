namespace Iam4Kube.Testing.Networking;

/// <summary>An external command exited with a non-zero code; the message carries its full output.</summary>
public sealed class ProcessFailedException : Exception
{
    public ProcessFailedException(ProcessResult result)
        : base(result.ToString())
    {
        Result = result;
    }

    public ProcessResult Result { get; }
}
