using System.Collections.Concurrent;
using Iam4Kube.Roles;
using Iam4Kube.Waiting;
using k8s.Models;

namespace Iam4Kube.Stores;

/// <summary>
/// ServiceAccounts and the role their annotations assign. Tells <see cref="IRoleDemand"/> which roles are wanted,
/// so credentials are prefetched as soon as an annotated ServiceAccount is seen.
/// </summary>
internal sealed class ServiceAccountStore(IRoleDemand demand)
{
    private readonly Lock _writer = new();
    private readonly ConcurrentDictionary<NamespacedName, ServiceAccountRole> _roles = new();

    public KeyedSignal<NamespacedName> Changed { get; } = new();

    /// <summary>
    /// Told, under the store's lock and before requests wake, when what a ServiceAccount assigns changed (or it came
    /// or went): compatibility mode re-decides the roles its pods name (<see cref="Policy.PodRoleDemand"/>).
    /// </summary>
    public event Action<NamespacedName>? AssignmentChanged;

    public int Count => _roles.Count;

    public bool TryGet(NamespacedName serviceAccount, out RoleAssignment assignment)
    {
        var found = _roles.TryGetValue(serviceAccount, out var entry);
        assignment = entry?.Assignment!;
        return found;
    }

    /// <summary>The ServiceAccount's role annotations as written, with what they assign.</summary>
    public ServiceAccountRole? Get(NamespacedName serviceAccount) => _roles.TryGetValue(serviceAccount, out var entry) ? entry : null;

    public static NamespacedName? NameOf(V1ServiceAccount serviceAccount) =>
        serviceAccount.Metadata is { Name: { } name, NamespaceProperty: { } ns } ? new NamespacedName(ns, name) : null;

    public void Upsert(V1ServiceAccount serviceAccount)
    {
        if (NameOf(serviceAccount) is not { } name)
        {
            return;
        }

        var entry = ServiceAccountRole.Read(name, serviceAccount.Metadata.Annotations);
        lock (_writer)
        {
            Set(name, entry);
        }
    }

    public void Remove(V1ServiceAccount serviceAccount)
    {
        if (NameOf(serviceAccount) is not { } name)
        {
            return;
        }

        lock (_writer)
        {
            Set(name, null);
        }
    }

    /// <summary>What the store keeps of a listed ServiceAccount; null for one without a name.</summary>
    public static Listed? Reduce(V1ServiceAccount serviceAccount) =>
        NameOf(serviceAccount) is { } name ? new Listed(name, ServiceAccountRole.Read(name, serviceAccount.Metadata.Annotations)) : null;

    public void ReplaceAll(IEnumerable<V1ServiceAccount> serviceAccounts) => ReplaceAll(serviceAccounts.Select(Reduce).OfType<Listed>());

    public void ReplaceAll(IEnumerable<Listed> serviceAccounts)
    {
        var fresh = new Dictionary<NamespacedName, ServiceAccountRole>();
        foreach (var (name, entry) in serviceAccounts)
        {
            fresh[name] = entry;
        }

        lock (_writer)
        {
            foreach (var name in _roles.Keys)
            {
                if (!fresh.ContainsKey(name))
                {
                    Set(name, null);
                }
            }

            foreach (var (name, entry) in fresh)
            {
                Set(name, entry);
            }
        }
    }

    private void Set(NamespacedName name, ServiceAccountRole? entry)
    {
        _roles.TryGetValue(name, out var previousEntry);
        if (Equals(previousEntry, entry))
        {
            return;
        }

        var previous = previousEntry?.Assignment;
        var assignment = entry?.Assignment;
        if (entry is not null && Equals(previous, assignment))
        {
            // Written differently, deciding the same: keep the new text, nothing to fetch or wake.
            _roles[name] = entry;
            return;
        }

        // Demand first: a request woken below must find the new role already wanted.
        if (assignment is RoleAssignment.Assigned added)
        {
            demand.Want(added.Role);
        }

        if (entry is null)
        {
            _roles.TryRemove(name, out _);
        }
        else
        {
            _roles[name] = entry;
        }

        if (previous is RoleAssignment.Assigned removed)
        {
            demand.Forget(removed.Role);
        }

        AssignmentChanged?.Invoke(name);
        Changed.Pulse(name);
    }

    /// <summary>A listed ServiceAccount, reduced to what the store keeps.</summary>
    public sealed record Listed(NamespacedName Name, ServiceAccountRole Role);
}
