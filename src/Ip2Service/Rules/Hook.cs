namespace Ip2Service.Rules;

/// <summary>A built-in chain that jumps to ip2service's chain of the same table.</summary>
internal sealed record Hook(string Table, string Chain)
{
    /// <summary>
    /// Where pods' traffic is caught. Pods' packets enter the node through PREROUTING, where the nat chain DNATs
    /// them; OUTPUT is not hooked for the IMDS target, so the node's own processes and hostNetwork pods (kubelet, the
    /// CNI plugin, iam4kube's own IMDS calls when host-networked) keep the node's metadata service. REJECT is not
    /// allowed in the nat table, so the fail-closed REJECT lives in the filter table, hooked from FORWARD (the real
    /// metadata service is routed off the node) and INPUT (it is a local address on some nodes). Only packets that
    /// were not DNATed still have the intercepted address as destination when they reach the filter table.
    /// </summary>
    public static IReadOnlyList<Hook> All { get; } =
    [
        new("filter", "INPUT"),
        new("filter", "FORWARD"),
        new("nat", "PREROUTING"),
    ];

    /// <summary>A target hooked in OUTPUT too (pod identity: hostNetwork pods must reach it): nat OUTPUT DNATs the
    /// node's own connections, filter OUTPUT rejects them while there is no endpoint. A DNATed connection no longer
    /// has the intercepted address as destination, so it cannot loop back into the chain.</summary>
    public static IReadOnlyList<Hook> WithOutput { get; } =
    [
        .. All,
        new("filter", "OUTPUT"),
        new("nat", "OUTPUT"),
    ];

    public static IReadOnlyList<string> Tables { get; } = ["filter", "nat"];

    public static IReadOnlyList<Hook> For(InterceptTarget target) => target.HookOutput ? WithOutput : All;
}
