using System.Collections.Concurrent;
using Iam4Kube.Roles;
using Iam4Kube.Stores;

namespace Iam4Kube.Tests.TestSupport;

/// <summary>Records which roles a store asked to prefetch and to forget.</summary>
internal sealed class RecordingDemand : IRoleDemand
{
    public ConcurrentQueue<IamRole> Wanted { get; } = new();

    public ConcurrentQueue<IamRole> Forgotten { get; } = new();

    public void Want(IamRole role) => Wanted.Enqueue(role);

    public void Forget(IamRole role) => Forgotten.Enqueue(role);
}
