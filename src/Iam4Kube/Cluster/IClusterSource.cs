namespace Iam4Kube.Cluster;

/// <summary>Where the local view of the cluster comes from: the API server, or a file in local mode.</summary>
internal interface IClusterSource
{
    /// <summary>Completes once pods, ServiceAccounts and nodes have all been loaded once.</summary>
    Task Synced { get; }
}
