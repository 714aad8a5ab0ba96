using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Microsoft.AspNetCore.Mvc;

namespace Iam4Kube.PodIdentity;

/// <summary>EKS Pod Identity's agent protocol on the token door: one route, <c>GET /v1/credentials</c>.</summary>
internal static class PodIdentityApi
{
    public const string CredentialsPath = "/v1/credentials";

    internal static readonly MetricsRoute CredentialsRoute = new("pod-identity-credentials");

    private static readonly ServedOn Token = new(Doors.Token);

    public static IEndpointRouteBuilder MapPodIdentityApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(CredentialsPath, ([FromServices] TokenDoor door, HttpContext context) => door.ServeCredentialsAsync(context))
            .WithMetadata(Token, CredentialsRoute);
        return endpoints;
    }
}
