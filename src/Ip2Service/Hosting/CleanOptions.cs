using Ip2Service.Iptables;

namespace Ip2Service.Hosting;

/// <summary>`ip2service clean`: remove every chain and jump ip2service made, in the chosen backend (with auto: in
/// every backend that has some).</summary>
internal sealed record CleanOptions(BackendChoice Backend, LogOptions Log) : CommandLineRequest;
