namespace Ip2Service.Iptables;

/// <summary>The backend to use and why (logged at start).</summary>
internal sealed record BackendSelection(IptablesBackend Backend, string Reason);
