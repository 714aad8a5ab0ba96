namespace Iam4Kube.Testing.Kubernetes;

/// <summary>A persistent fault the fake API server can answer every list or every watch with, as kube-apiserver does.</summary>
public enum ApiFault
{
    /// <summary>410 Gone, reason Expired (history compacted). A watch gets it in-band: 200, an ERROR event, the end.</summary>
    Expired,

    /// <summary>504 Timeout with the ResourceVersionTooLarge cause (an etcd restore, a lagging replica). In-band on a watch.</summary>
    ResourceVersionTooLarge,

    /// <summary>400 BadRequest about the resourceVersion, before any stream starts.</summary>
    InvalidResourceVersion,
}
