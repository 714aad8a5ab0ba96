namespace Iam4Kube.Testing.Networking;

/// <summary>
/// Checks that this machine can run the network-namespace tests (root, iproute2, iptables). Tests that need them
/// fail with this message instead of being skipped: a green run must mean the rules were really exercised.
/// </summary>
public static class NetworkPrerequisites
{
    private static readonly string[] SearchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    /// <summary>Throws <see cref="InvalidOperationException"/> unless the process is root and `ip` is installed.</summary>
    public static void EnsureNetworkNamespaces()
    {
        var missing = new List<string>();
        if (!Environment.IsPrivilegedProcess)
        {
            missing.Add("root (network namespaces and iptables need CAP_NET_ADMIN and CAP_SYS_ADMIN)");
        }
        if (FindExecutable("ip") is null)
        {
            missing.Add("`ip` from iproute2 (apt-get install iproute2)");
        }
        ThrowIfAny(missing);
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> unless namespaces work and both iptables backends
    /// that Debian ships (nf_tables and legacy) are installed.</summary>
    public static void EnsureIptables()
    {
        EnsureNetworkNamespaces();
        var missing = new[] { "iptables-nft-save", "iptables-nft-restore", "iptables-legacy-save", "iptables-legacy-restore" }
            .Where(tool => FindExecutable(tool) is null)
            .Select(tool => $"`{tool}` (apt-get install iptables)")
            .ToList();
        ThrowIfAny(missing);
    }

    /// <summary>The full path of <paramref name="name"/> in PATH or the sbin directories, or null.</summary>
    public static string? FindExecutable(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(SearchPath)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
    }

    private static void ThrowIfAny(List<string> missing)
    {
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                "This test runs real network namespaces and iptables and cannot run here; missing: "
                + string.Join("; ", missing)
                + ". Run the suite as root on Linux through ./test.sh, which installs what is missing.");
        }
    }
}
