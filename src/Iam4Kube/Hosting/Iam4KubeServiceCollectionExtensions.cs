using Amazon;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Iam4Kube.Admission;
using Iam4Kube.Cluster;
using Iam4Kube.Credentials;
using Iam4Kube.Explain;
using Iam4Kube.Identity;
using Iam4Kube.LocalMode;
using Iam4Kube.Metadata;
using Iam4Kube.Observability;
using Iam4Kube.Outcomes;
using Iam4Kube.PodIdentity;
using Iam4Kube.Policy;
using Iam4Kube.Stores;
using Iam4Kube.Waiting;
using Iam4Kube.Watching;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Iam4Kube.Hosting;

/// <summary>The composition root: every iam4kube service, wired once.</summary>
internal static class Iam4KubeServiceCollectionExtensions
{
    public static IServiceCollection AddIam4Kube(this IServiceCollection services, Iam4KubeOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Iam4KubeMetrics>();
        services.AddSingleton<Listeners>();
        services.AddSingleton(sp => new ConnectionLimiter(
            options.MaxConnections, options.MaxConnectionsPerSource,
            DescriptorBudget.ConnectionsAllowed(DescriptorBudget.SoftLimit(), DescriptorBudget.OpenNow()),
            sp.GetRequiredService<Iam4KubeMetrics>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ConnectionLimiter>>()));

        // Cluster
        services.AddSingleton<PodIndex>();
        services.AddSingleton<NodeStore>();
        services.AddSingleton(sp =>
        {
            var store = new ServiceAccountStore(sp.GetRequiredService<IRoleDemand>());
            // Compatibility mode: pods' own roles are prefetched too, following pods and their ServiceAccounts.
            sp.GetService<PodRoleDemand>()?.Attach(sp.GetRequiredService<PodIndex>(), store);
            return store;
        });
        services.AddSingleton(sp => new NamespaceStore(sp.GetRequiredService<ILogger<NamespaceStore>>()) { Watched = options.NamespaceRestrictions });
        services.AddSingleton(sp => new RoleGuard(
            [.. options.AllowedRoles.Select(g => RolePattern.TryGlob(g, out var p, out _) ? p : throw new ArgumentException($"--allowed-roles '{g}' was not validated"))],
            options.NamespaceRestrictions,
            sp.GetRequiredService<NamespaceStore>()));
        services.TryAddSingleton(new WatchSettings { IdleTimeout = options.WatchIdleTimeout });
        services.AddSingleton(sp => new ViewFreshness(
            sp.GetRequiredService<TimeProvider>(), options.MaxViewAge, sp.GetRequiredService<ILogger<ViewFreshness>>()));
        if (options.ClusterFile is not null)
        {
            // Local mode: the cluster is a file, and there is no API server (nor Kubernetes client) at all.
            services.AddSingleton<ClusterFileSource>();
            services.AddSingleton<IClusterSource>(sp => sp.GetRequiredService<ClusterFileSource>());
            services.AddHostedService(sp => sp.GetRequiredService<ClusterFileSource>());
            services.AddSingleton<IPodEvents, LoggedPodEvents>();
        }
        else
        {
            // The connection only (TLS, credentials), not KubernetesClient's typed client: see KubernetesCalls. A
            // singleton made by the container, so the container disposes it (its HttpClient) with the host.
            services.TryAddSingleton(_ => KubernetesApi.Create(KubernetesConfiguration.Load(options)));
            services.AddSingleton<ClusterView>();
            services.AddSingleton<IClusterSource>(sp => sp.GetRequiredService<ClusterView>());
            services.AddHostedService(sp => sp.GetRequiredService<ClusterView>());
            services.AddSingleton<KubernetesPodEvents>();
            services.AddSingleton<IPodEvents>(sp => sp.GetRequiredService<KubernetesPodEvents>());
            services.AddHostedService(sp => sp.GetRequiredService<KubernetesPodEvents>());
        }

        // Credentials
        services.AddSingleton(new FreshnessPolicy(options.SessionDuration)
        {
            // Role chaining: STS refuses application sessions longer than an hour.
            MaxSessionDuration = options.AssumeRoleArn is null ? null : ControllerRole.ChainedSessionLimit,
        });
        services.AddSingleton(new StsRateLimiter(options.StsRate, options.StsBurst));
        services.AddSingleton<CredentialStore>();
        if (options.Credentials == CredentialSource.Offline)
        {
            services.TryAddSingleton<ICredentialIssuer, OfflineCredentialIssuer>();
        }
        else
        {
            // iam4kube's own AWS credentials: the SDK's default chain unless registered (tests).
            if (options.AssumeRoleArn is { } controllerArn)
            {
                services.AddSingleton(sp => new ControllerRole(
                    CreateStsClient(options, sp.GetService<AWSCredentials>()),
                    controllerArn,
                    sp.GetRequiredService<StsRateLimiter>(),
                    sp.GetRequiredService<Iam4KubeMetrics>(),
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<ControllerRole>>()));
                services.AddHostedService<ControllerRoleKeeper>();
                services.TryAddSingleton<IAmazonSecurityTokenService>(sp => CreateStsClient(options, sp.GetRequiredService<ControllerRole>()));
            }
            else
            {
                services.TryAddSingleton<IAmazonSecurityTokenService>(sp => CreateStsClient(options, sp.GetService<AWSCredentials>()));
            }

            services.TryAddSingleton<ICredentialIssuer, StsCredentialIssuer>();
        }

        if (options.Credentials == CredentialSource.Sts)
        {
            services.AddHostedService<StsEndpointLog>();
        }

        services.AddSingleton<CredentialRefresher>();
        // Only permitted roles are prefetched: the guard stands between ServiceAccounts and the refresher.
        IRoleDemand PermittedDemand(IServiceProvider sp) => sp.GetRequiredService<RoleGuard>().IsOff
            ? sp.GetRequiredService<CredentialRefresher>()
            : new PermittedRoleDemand(sp.GetRequiredService<CredentialRefresher>(), sp.GetRequiredService<RoleGuard>(), sp.GetRequiredService<NamespaceStore>());
        if (PodRoleSettings.From(options) is { } podRoleSettings)
        {
            // --pod-annotations: ServiceAccounts and pods may want one role at once, so wants are counted.
            services.AddSingleton(podRoleSettings);
            services.AddSingleton<IRoleDemand>(sp => new CountedRoleDemand(PermittedDemand(sp)));
            services.AddSingleton(sp => new PodRoleDemand(podRoleSettings, sp.GetRequiredService<IRoleDemand>()));
            services.AddSingleton<PodRoles>();
        }
        else
        {
            services.AddSingleton(PermittedDemand);
        }

        services.AddHostedService(sp => sp.GetRequiredService<CredentialRefresher>());

        // Identity → policy → credentials, and waiting over them
        services.AddSingleton<SourceIpIdentity>();
        services.AddSingleton<RolePolicy>();
        services.AddSingleton<CredentialSupply>();
        services.AddSingleton(new ParkedRequestBudget(options.MaxParkedRequests));
        services.AddSingleton(sp => new CallerResolver(
            sp.GetRequiredService<RolePolicy>(),
            sp.GetRequiredService<CredentialSupply>(),
            sp.GetRequiredService<NodeStore>(),
            sp.GetRequiredService<ParkedRequestBudget>(),
            sp.GetRequiredService<ViewFreshness>(),
            sp.GetRequiredService<Iam4KubeMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            options.WaitTimeout));
        services.AddSingleton(sp => new AuditLog(options.AuditLog, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AuditLog>>()));
        services.AddSingleton<OutcomeReporter>();

        // Doors
        services.AddSingleton(sp => new ImdsTokens(ImdsTokens.LoadKey(options.TokenKeyFile), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ImdsTokenFilter>();
        services.AddSingleton<ImdsTokenRequirement>();
        services.AddSingleton<ImdsDoor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, CaseSensitivePathPolicy>());
        services.AddSingleton<Explainer>();
        if (options.TokenListen is not null && options.ClusterFile is null)
        {
            services.AddSingleton(sp => new ServiceAccountTokenVerifier(
                sp.GetRequiredService<KubernetesApi>(),
                options.TokenAudience,
                options.TokenReviewRate,
                options.TokenReviewBurst,
                options.TokenCacheSize,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<Iam4KubeMetrics>(),
                sp.GetRequiredService<ILogger<ServiceAccountTokenVerifier>>()));
            services.AddSingleton(new TokenDoorHosts(options.TokenDoorHosts));
            services.AddSingleton<TokenDoor>();
        }

        if (options.WebhookListen is not null && options.ClusterFile is null)
        {
            services.TryAddSingleton(new WebhookTlsSettings(options.WebhookNamespace, options.WebhookService, options.WebhookConfiguration)
            {
                ValidatingConfigurationName = options.ValidatingWebhookConfiguration,
            });
            services.AddSingleton<WebhookCertificates>();
            services.AddHostedService(sp => sp.GetRequiredService<WebhookCertificates>());
            services.AddSingleton<IAdmissionReviewer>(sp => new PodIdentityInjector(
                sp.GetRequiredService<ServiceAccountStore>(), options.TokenAudience, sp.GetRequiredService<ILogger<PodIdentityInjector>>())
            {
                PodAnnotations = options.PodAnnotations,
            });
            services.AddSingleton<IAdmissionReviewer>(sp => new ServiceAccountRoleReviewer(sp.GetRequiredService<RoleGuard>()));
            if (options.PodAnnotations)
            {
                services.AddSingleton<IAdmissionReviewer, PodRoleReviewer>();
            }
        }

        // Lifecycle
        services.AddSingleton<Readiness>();
        services.AddHostedService<GracefulShutdown>();
        services.TryAddSingleton<CompactHeap>(FirstSyncCompaction.Aggressive);
        services.AddHostedService<FirstSyncCompaction>();
        services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownDelay + options.DrainTimeout + TimeSpan.FromSeconds(2));
        return services;
    }

    /// <summary>Connections to STS open at once, at most (per STS client: the application roles', the controller role's).</summary>
    internal const int StsMaxConnections = 16;

    /// <summary>
    /// The STS client iam4kube uses; <paramref name="credentials"/> replaces the ambient chain (tests), and
    /// <paramref name="trustedRoots"/> the system's TLS roots (tests; users give a private CA with SSL_CERT_FILE).
    /// </summary>
    internal static AmazonSecurityTokenServiceClient CreateStsClient(Iam4KubeOptions options, AWSCredentials? credentials = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2Collection? trustedRoots = null)
    {
        var config = new AmazonSecurityTokenServiceConfig
        {
            // Retries are ours (backoff with jitter, through the rate limiter): the SDK must not add its own.
            MaxErrorRetry = 0,
            // Connection resets do not count against MaxErrorRetry: by default the SDK resends up to 10 more times,
            // so one AssumeRole would be 11 requests to STS behind the rate limiter's back.
            MaxStaleConnectionRetries = 0,
            Timeout = TimeSpan.FromSeconds(30),
            // STS's Date header, to notice a node clock STS disagrees with (expiry is then computed on STS's clock).
            HttpClientFactory = new StsResponseDate.Factory(trustedRoots),
            // One pool of kept-alive connections (StsResponseDate.Factory), bounded: the rate limiter lets at most
            // --sts-burst calls start at once and then --sts-rate a second, which a few connections carry at STS's
            // latency; calls beyond this wait for a connection rather than each opening (and holding) a TLS session.
            MaxConnectionsPerServer = StsMaxConnections,
        };
        if (options.StsEndpoint is not null)
        {
            config.ServiceURL = options.StsEndpoint;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (options.Region is not null)
        {
            // The SDK's endpoint rules pick the regional endpoint in the region's partition (sts.REGION.amazonaws.com,
            // sts.cn-north-1.amazonaws.com.cn, sts.us-gov-west-1.amazonaws.com), and the FIPS one when asked.
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        if (options.StsFips)
        {
            config.UseFIPSEndpoint = true;
        }

        // Otherwise the SDK resolves the region itself (profile, then the node's real metadata service).
        return credentials is null ? new AmazonSecurityTokenServiceClient(config) : new AmazonSecurityTokenServiceClient(credentials, config);
    }
}
