using System.Collections.Concurrent;
using Iam4Kube.Roles;
using Iam4Kube.Waiting;

namespace Iam4Kube.Credentials;

/// <summary>
/// The credentials of every wanted role, as last published by <see cref="CredentialRefresher"/>. Readers never
/// lock; requests waiting for a role park on <see cref="Changed"/>.
/// </summary>
internal sealed class CredentialStore
{
    private readonly ConcurrentDictionary<IamRole, CredentialState> _states = new();

    public KeyedSignal<IamRole> Changed { get; } = new();

    public int Count => _states.Count;

    public CredentialState? Get(IamRole role) => _states.TryGetValue(role, out var state) ? state : null;

    public void Publish(IamRole role, CredentialState state)
    {
        _states[role] = state;
        Changed.Pulse(role);
    }

    public void Remove(IamRole role)
    {
        if (_states.TryRemove(role, out _))
        {
            Changed.Pulse(role);
        }
    }
}
