using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

namespace Iam4Kube.Credentials;

/// <summary>Says once, at start, which STS endpoint AssumeRole goes to: the first thing to check when STS misbehaves.</summary>
internal sealed partial class StsEndpointLog(IAmazonSecurityTokenService sts, ILogger<StsEndpointLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var (endpoint, region) = Describe(sts);
        if (endpoint is null)
        {
            Log.EndpointUnknown(logger, region);
        }
        else
        {
            Log.Endpoint(logger, endpoint, region ?? "(from the SDK's chain)", sts.Config.UseFIPSEndpoint);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The endpoint URL the SDK's endpoint rules resolve for AssumeRole, or why there is none.</summary>
    public static (string? Endpoint, string? RegionOrReason) Describe(IAmazonSecurityTokenService sts)
    {
        var region = sts.Config.RegionEndpoint?.SystemName ?? sts.Config.AuthenticationRegion;
        try
        {
            return (sts.DetermineServiceOperationEndpoint(new AssumeRoleRequest()).URL.TrimEnd('/'), region);
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonClientException or ArgumentException or InvalidOperationException)
        {
            return (null, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "AssumeRole goes to STS at {Endpoint} (region {Region}, FIPS {Fips})")]
        public static partial void Endpoint(ILogger logger, string endpoint, string region, bool fips);

        [LoggerMessage(2, LogLevel.Warning, "Cannot tell which STS endpoint AssumeRole will use: {Reason}; set --region or --sts-endpoint")]
        public static partial void EndpointUnknown(ILogger logger, string? reason);
    }
}
