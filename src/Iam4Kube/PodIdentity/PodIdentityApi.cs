using Iam4Kube.Hosting;
using Iam4Kube.Observability;

namespace Iam4Kube.PodIdentity;

/// <summary>EKS Pod Identity's agent protocol on the token door: one route, <c>GET /v1/credentials</c>.</summary>
internal static class PodIdentityApi
{
    public const string CredentialsPath = "/v1/credentials";

    internal static readonly MetricsRoute CredentialsRoute = new("pod-identity-credentials");

    private static readonly ServedOn Token = new(Doors.Token);

    public static IEndpointRouteBuilder MapPodIdentityApi(this IEndpointRouteBuilder endpoints)
    {
        // The door is resolved once, on the first request (it exists only when the token listener does, and only
        // that listener reaches this endpoint): a [FromServices] parameter cost a service scope per request.
        var services = endpoints.ServiceProvider;
        TokenDoor? door = null;
        endpoints.MapGet(CredentialsPath, (RequestDelegate)(context => (door ??= services.GetRequiredService<TokenDoor>()).ServeAsync(context)))
            .WithMetadata(Token, CredentialsRoute);
        return endpoints;
    }
}
