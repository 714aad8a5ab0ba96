using Iam4Kube.Observability;

namespace Iam4Kube.Outcomes;

/// <summary>
/// One way a request that needs a pod's identity can end. This table is the only vocabulary for outcomes: each
/// door takes its status from here, the metric its label, the pod its Event reason, the log its level, and the
/// waiting loop whether waiting could still change the answer. Adding a door adds a status column.
/// </summary>
internal sealed class Outcome
{
    /// <summary>Every stage gave what was asked for (internal; the door reports what it then served).</summary>
    public static readonly Outcome Resolved = new("resolved", StatusCodes.Status200OK, isFinal: true, logLevel: LogLevel.Debug);

    /// <summary>Credentials went to the pod.</summary>
    public static readonly Outcome CredentialsServed = new("credentials", StatusCodes.Status200OK, isFinal: true, PodEventReason.IamCredentialsServed, LogLevel.Debug);

    /// <summary>The pod's ServiceAccount has no role annotation.</summary>
    public static readonly Outcome NoRole = new("no_role", StatusCodes.Status404NotFound, isFinal: true, PodEventReason.IamRoleMissing);

    /// <summary>The role annotations are malformed; never sent to STS.</summary>
    public static readonly Outcome InvalidRole = new("invalid_role", StatusCodes.Status404NotFound, isFinal: true, PodEventReason.IamRoleInvalid);

    /// <summary>STS refused AssumeRole for good (the role does not trust iam4kube, does not exist, ...).</summary>
    public static readonly Outcome StsDenied = new("sts_denied", StatusCodes.Status404NotFound, isFinal: true, PodEventReason.IamAssumeRoleDenied, tokenStatus: StatusCodes.Status403Forbidden);

    /// <summary>An IMDSv2 token that is invalid, expired, issued to another IP, or issued to another pod.</summary>
    public static readonly Outcome TokenRejected = new("token_rejected", StatusCodes.Status401Unauthorized, isFinal: true);

    /// <summary>No live pod has the caller's address (yet).</summary>
    public static readonly Outcome PodUnknown = new("pod_unknown", StatusCodes.Status404NotFound, isFinal: false, tokenStatus: StatusCodes.Status403Forbidden);

    /// <summary>Two live pods claim the caller's address: answer nothing until a list settles it.</summary>
    public static readonly Outcome PodAmbiguous = new("pod_ambiguous", StatusCodes.Status404NotFound, isFinal: false, tokenStatus: StatusCodes.Status403Forbidden);

    /// <summary>The pod's ServiceAccount is not known (yet).</summary>
    public static readonly Outcome ServiceAccountUnknown = new("serviceaccount_unknown", StatusCodes.Status404NotFound, isFinal: false, tokenStatus: StatusCodes.Status503ServiceUnavailable);

    /// <summary>The pod's node is not known (yet): placement and identity document only.</summary>
    public static readonly Outcome NodeUnknown = new("node_unknown", StatusCodes.Status404NotFound, isFinal: false);

    /// <summary>The role's credentials are being fetched, or STS failed transiently and nothing valid is left.</summary>
    public static readonly Outcome CredentialsUnavailable = new("credentials_unavailable", StatusCodes.Status503ServiceUnavailable, isFinal: false);

    /// <summary>Too many requests are waiting already (--max-parked).</summary>
    public static readonly Outcome ParkedLimit = new("parked_limit", StatusCodes.Status503ServiceUnavailable, isFinal: true, tokenStatus: StatusCodes.Status429TooManyRequests);

    /// <summary>The replica is draining; what is unknown here may be known on another replica.</summary>
    public static readonly Outcome ShuttingDown = new("shutting_down", StatusCodes.Status503ServiceUnavailable, isFinal: true);

    /// <summary>
    /// This replica's view of the cluster is older than --max-view-age: it no longer claims to know who owns an IP
    /// (a frozen map is how an IP's new owner gets its previous owner's role), so it answers nothing.
    /// </summary>
    public static readonly Outcome ViewTooOld = new("view_too_old", StatusCodes.Status503ServiceUnavailable, isFinal: true);

    /// <summary>The client went away while waiting: nothing is written.</summary>
    public static readonly Outcome ClientGone = new("client_gone", StatusClientClosedRequest, isFinal: true);

    /// <summary>The pod asked for credentials of a role name that is not its role (it listed an older one).</summary>
    public static readonly Outcome WrongRoleName = new("wrong_role_name", StatusCodes.Status404NotFound, isFinal: true, logLevel: LogLevel.None);

    /// <summary>
    /// A request without an IMDSv2 token where tokens are required (--imds-tokens required, or the ServiceAccount's
    /// iam4kube.io/imds-tokens: required): 401, as EC2 answers with HttpTokens=required.
    /// </summary>
    public static readonly Outcome TokenRequired = new("token_required", StatusCodes.Status401Unauthorized, isFinal: true, PodEventReason.IamImdsTokenRequired);

    /// <summary>
    /// The role is not permitted: by --allowed-roles, or by its namespace's rules (--namespace-restrictions). Never
    /// sent to STS; final: a change of the rules wakes no one, the next request decides afresh.
    /// </summary>
    public static readonly Outcome RoleForbidden = new("role_forbidden", StatusCodes.Status404NotFound, isFinal: true, PodEventReason.IamRoleForbidden, tokenStatus: StatusCodes.Status403Forbidden);

    /// <summary>--namespace-restrictions: the pod's Namespace is not known (yet); its rules are never assumed.</summary>
    public static readonly Outcome NamespaceUnknown = new("namespace_unknown", StatusCodes.Status404NotFound, isFinal: false, tokenStatus: StatusCodes.Status503ServiceUnavailable);

    // The token door's own refusals (EKS Pod Identity's protocol, PodIdentity/): they happen before identity, and
    // never on the IMDS door (its column repeats the token door's status only to fill the table).

    /// <summary>No Authorization header, or an empty one.</summary>
    public static readonly Outcome TokenMissing = new("token_missing", StatusCodes.Status400BadRequest, isFinal: true);

    /// <summary>An Authorization value that cannot be a token: CR/LF in it, longer than 8 KiB, given twice.</summary>
    public static readonly Outcome TokenMalformed = new("token_malformed", StatusCodes.Status400BadRequest, isFinal: true);

    /// <summary>Not a ServiceAccount token the API server authenticates (tampered, unknown signer, not bound to a pod).</summary>
    public static readonly Outcome TokenInvalid = new("token_invalid", StatusCodes.Status401Unauthorized, isFinal: true);

    /// <summary>The ServiceAccount token has expired.</summary>
    public static readonly Outcome TokenExpired = new("token_expired", StatusCodes.Status401Unauthorized, isFinal: true);

    /// <summary>A ServiceAccount token for another audience than --token-audience (meant for someone else).</summary>
    public static readonly Outcome TokenWrongAudience = new("token_wrong_audience", StatusCodes.Status401Unauthorized, isFinal: true);

    /// <summary>The token's pod is being deleted or has finished, or the index has another pod under its uid.</summary>
    public static readonly Outcome TokenPodGone = new("token_pod_gone", StatusCodes.Status403Forbidden, isFinal: true);

    /// <summary>The request's Host is not one of --token-door-hosts (EKS's agent refuses such requests too).</summary>
    public static readonly Outcome HostNotAllowed = new("host_not_allowed", StatusCodes.Status403Forbidden, isFinal: true);

    /// <summary>TokenReview failed (API server unreachable, error, timeout): nothing is known, so nothing is served.</summary>
    public static readonly Outcome TokenReviewUnavailable = new("token_review_unavailable", StatusCodes.Status503ServiceUnavailable, isFinal: true);

    /// <summary>Too many new tokens to verify at once: TokenReview calls are rate- and concurrency-limited.</summary>
    public static readonly Outcome TokenReviewOverloaded = new("token_review_overloaded", StatusCodes.Status429TooManyRequests, isFinal: true);

    /// <summary>nginx's "client closed request": what the request metrics record when nothing could be written.</summary>
    public const int StatusClientClosedRequest = 499;

    // Refusals log at Information: one line per refused request is expected traffic (pods without a role polling
    // their SDK's chain); what needs an operator's attention has a Warning Event on the pod instead.
    private Outcome(string label, int imdsStatus, bool isFinal, PodEventReason? eventReason = null, LogLevel logLevel = LogLevel.Information,
        int? tokenStatus = null)
    {
        Label = label;
        ImdsStatus = imdsStatus;
        TokenStatus = tokenStatus ?? imdsStatus;
        IsFinal = isFinal;
        EventReason = eventReason;
        LogLevel = logLevel;
    }

    /// <summary>Every outcome, for documentation and tests.</summary>
    public static IReadOnlyList<Outcome> All { get; } =
    [
        Resolved, CredentialsServed, NoRole, InvalidRole, StsDenied, TokenRejected, PodUnknown, PodAmbiguous,
        ServiceAccountUnknown, NodeUnknown, CredentialsUnavailable, ParkedLimit, ShuttingDown, ViewTooOld, ClientGone, WrongRoleName,
        TokenRequired, RoleForbidden, NamespaceUnknown,
        TokenMissing, TokenMalformed, TokenInvalid, TokenExpired, TokenWrongAudience, TokenPodGone, HostNotAllowed,
        TokenReviewUnavailable, TokenReviewOverloaded,
    ];

    /// <summary>The <c>outcome</c> label of <c>iam4kube_request_outcomes_total</c>.</summary>
    public string Label { get; }

    /// <summary>The status the EC2 metadata door answers with.</summary>
    public int ImdsStatus { get; }

    /// <summary>The status the token door (EKS Pod Identity's <c>/v1/credentials</c>) answers with.</summary>
    public int TokenStatus { get; }

    /// <summary>Waiting cannot change this answer (only a new event could, and it will wake a new request).</summary>
    public bool IsFinal { get; }

    /// <summary>The Event recorded on the pod, if any (deduplicated per pod and reason).</summary>
    public PodEventReason? EventReason { get; }

    /// <summary>The level of the refusal's log line; <see cref="LogLevel.None"/> for none.</summary>
    public LogLevel LogLevel { get; }

    /// <summary>A client may succeed by retrying soon (503s carry Retry-After).</summary>
    public bool IsRetryable => ImdsStatus == StatusCodes.Status503ServiceUnavailable;

    /// <summary>On the token door: 503 and 429 carry Retry-After.</summary>
    public bool IsRetryableOnTokenDoor => TokenStatus is StatusCodes.Status503ServiceUnavailable or StatusCodes.Status429TooManyRequests;

    public override string ToString() => Label;
}
