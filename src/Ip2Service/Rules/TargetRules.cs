namespace Ip2Service.Rules;

/// <summary>One intercept target and the endpoint set its rules must say.</summary>
internal sealed record TargetRules(InterceptTarget Target, EndpointSet Set);
