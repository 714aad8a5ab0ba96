using Iam4Kube.Cluster;

namespace Iam4Kube.Observability;

/// <summary>
/// Local mode has no API server to write Events to: what would be an Event on the pod goes to the log instead, so
/// a developer sees what <c>kubectl describe pod</c> would show in a cluster.
/// </summary>
internal sealed partial class LoggedPodEvents(ILogger<LoggedPodEvents> logger) : IPodEvents
{
    public void Record(PodInfo pod, PodEventReason reason, string message)
    {
        if (reason is PodEventReason.IamRoleFound or PodEventReason.IamCredentialsServed)
        {
            Log.Normal(logger, pod.Name.ToString(), reason, message);
        }
        else
        {
            Log.Warning(logger, pod.Name.ToString(), reason, message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Pod {Pod}: {Reason}: {Message}")]
        public static partial void Normal(ILogger logger, string pod, PodEventReason reason, string message);

        [LoggerMessage(2, LogLevel.Warning, "Pod {Pod}: {Reason}: {Message}")]
        public static partial void Warning(ILogger logger, string pod, PodEventReason reason, string message);
    }
}
