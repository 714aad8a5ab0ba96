namespace Ip2Service.Rules;

/// <summary>An intercept target and the Service port (by name) whose endpoints its connections go to.</summary>
internal sealed record InterceptRoute(InterceptTarget Target, string PortName);
