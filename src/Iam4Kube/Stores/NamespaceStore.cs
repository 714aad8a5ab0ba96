using System.Collections.Concurrent;
using Iam4Kube.Policy;
using Iam4Kube.Waiting;
using k8s.Models;

namespace Iam4Kube.Stores;

/// <summary>
/// Namespaces and the roles their annotations permit (<see cref="NamespaceRules"/>), watched only with
/// <c>--namespace-restrictions</c>. A change of a namespace's rules is told first to <see cref="RulesChanged"/>
/// (which re-decides the prefetch of every role of the namespace) and then wakes the requests parked on it.
/// </summary>
internal sealed partial class NamespaceStore(ILogger<NamespaceStore> logger)
{
    private readonly Lock _writer = new();
    private readonly ConcurrentDictionary<string, NamespaceRules> _rules = new(StringComparer.Ordinal);

    /// <summary>Whether Namespaces are watched at all (--namespace-restrictions); otherwise the store stays empty.</summary>
    public bool Watched { get; init; }

    public KeyedSignal<string> Changed { get; } = new();

    /// <summary>
    /// Called, under the store's lock, after a namespace's rules changed and before parked requests wake: a
    /// request woken by the change then finds a newly permitted role already wanted.
    /// </summary>
    public event Action<string>? RulesChanged;

    public int Count => _rules.Count;

    /// <summary>Namespaces whose restriction annotations are malformed (they permit nothing).</summary>
    public int InvalidCount => _rules.Values.Count(r => r.Problem is not null);

    /// <summary>The namespace's rules; null when the namespace is not known (yet).</summary>
    public NamespaceRules? Get(string @namespace) => _rules.TryGetValue(@namespace, out var rules) ? rules : null;

    public void Upsert(V1Namespace ns)
    {
        if (ns.Metadata?.Name is not { } name)
        {
            return;
        }

        var rules = NamespaceRules.Read(ns.Metadata.Annotations);
        lock (_writer)
        {
            Set(name, rules);
        }
    }

    public void Remove(V1Namespace ns)
    {
        if (ns.Metadata?.Name is not { } name)
        {
            return;
        }

        lock (_writer)
        {
            Set(name, null);
        }
    }

    /// <summary>What the store keeps of a listed namespace; null for one without a name.</summary>
    public static Listed? Reduce(V1Namespace ns) =>
        ns.Metadata?.Name is { } name ? new Listed(name, NamespaceRules.Read(ns.Metadata.Annotations)) : null;

    public void ReplaceAll(IEnumerable<V1Namespace> namespaces) => ReplaceAll(namespaces.Select(Reduce).OfType<Listed>());

    public void ReplaceAll(IEnumerable<Listed> namespaces)
    {
        var fresh = new Dictionary<string, NamespaceRules>(StringComparer.Ordinal);
        foreach (var (name, rules) in namespaces)
        {
            fresh[name] = rules;
        }

        lock (_writer)
        {
            foreach (var name in _rules.Keys.Where(n => !fresh.ContainsKey(n)).ToList())
            {
                Set(name, null);
            }

            foreach (var (name, rules) in fresh)
            {
                Set(name, rules);
            }
        }
    }

    private void Set(string name, NamespaceRules? rules)
    {
        var previous = _rules.TryGetValue(name, out var found) ? found : null;
        if (previous is not null && rules is not null && previous.SameAs(rules))
        {
            return;
        }

        if (rules is null)
        {
            if (!_rules.TryRemove(name, out _))
            {
                return;
            }
        }
        else
        {
            _rules[name] = rules;
            if (rules.Problem is { } problem)
            {
                Log.Malformed(logger, name, problem);
            }
        }

        RulesChanged?.Invoke(name);
        Changed.Pulse(name);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Namespace {NamespaceName}: {Problem}; with --namespace-restrictions its pods get no role until it is fixed")]
        public static partial void Malformed(ILogger logger, string namespaceName, string problem);
    }

    /// <summary>A listed namespace, reduced to what the store keeps.</summary>
    public sealed record Listed(string Name, NamespaceRules Rules);
}
