namespace Ip2Service.Hosting;

/// <summary>`ip2service --version`.</summary>
internal sealed record VersionRequest : CommandLineRequest;
