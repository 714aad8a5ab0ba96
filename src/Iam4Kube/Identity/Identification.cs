using Iam4Kube.Outcomes;
using Iam4Kube.Stores;

namespace Iam4Kube.Identity;

/// <summary>
/// Who is calling: the pod (<see cref="Outcome.Resolved"/>), or a definite refusal (unknown, ambiguous, a token that
/// names another pod). <see cref="Pod"/> may be set on a refusal, to say whose request was refused.
/// </summary>
internal readonly record struct Identification(Outcome Outcome, PodInfo? Pod = null, string? Detail = null)
{
    public bool IsIdentified => ReferenceEquals(Outcome, Outcome.Resolved);

    public static Identification Of(PodInfo pod) => new(Outcome.Resolved, pod);
}
