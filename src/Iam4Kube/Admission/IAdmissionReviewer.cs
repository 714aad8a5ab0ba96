namespace Iam4Kube.Admission;

/// <summary>One admission webhook path's logic: a verdict for one request. Mutating and validating reviewers alike.</summary>
internal interface IAdmissionReviewer
{
    /// <summary>The path kube-apiserver posts to, e.g. <c>/mutate/pods</c>.</summary>
    string Path { get; }

    AdmissionResponse Review(AdmissionRequest request);
}
