namespace Iam4Kube.PodIdentity;

/// <summary>
/// The Host values the token door answers (EKS's agent answers only its own addresses): an SDK reaches it through
/// one of them, while a request with another Host is a misrouted or forged one (DNS rebinding from a browser in a
/// pod, a proxy). Ports are ignored.
/// </summary>
internal sealed class TokenDoorHosts(IEnumerable<string> hosts)
{
    public static readonly IReadOnlyList<string> Default = ["169.254.170.23", "[fd00:ec2::23]"];

    private readonly HashSet<string> _hosts = new(hosts.Select(Normalize), StringComparer.OrdinalIgnoreCase);

    public bool Allows(HostString host) => host.HasValue && _hosts.Contains(host.Host);

    /// <summary>An IPv6 address is compared with its brackets, as HostString reports it.</summary>
    private static string Normalize(string host) =>
        host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
}
