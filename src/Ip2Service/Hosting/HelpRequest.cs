namespace Ip2Service.Hosting;

/// <summary>`--help`, overall or for one command.</summary>
internal sealed record HelpRequest(string? Command) : CommandLineRequest;
