namespace Iam4Kube.Credentials;

/// <summary>Raised by an <see cref="ICredentialIssuer"/> when no credentials could be issued.</summary>
internal sealed class CredentialIssueException(string code, string message, bool permanent, Exception? inner = null)
    : Exception(message, inner)
{
    public string Code => code;

    public bool Permanent => permanent;
}
