using System.Net;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Iam4Kube.LocalMode;

/// <summary>
/// Reads a multi-document Kubernetes YAML file, as <c>kubectl apply -f</c> takes it, into the Pods, ServiceAccounts
/// and Nodes it holds; other kinds are skipped. Documents are split on <c>---</c> lines the way kubectl splits them,
/// so a broken document is reported by its number and line and cannot hide the others. Fields are read strictly:
/// a misspelt field (<c>podIp</c>) is an error rather than a pod that silently has no IP.
/// </summary>
internal static class ClusterFileParser
{
    /// <summary>
    /// Deepest nesting of mappings and sequences a document may have. Kubernetes objects stay far below it (a pod's
    /// managedFields about 20); building nodes is recursive in YamlDotNet, so a 50,000-deep <c>[[[…</c> would
    /// overflow the stack and kill the process, and a 10,000-deep mapping take hundreds of MiB.
    /// </summary>
    public const int MaxDepth = 100;

    private const string DefaultNamespace = "default";

    public static ClusterFileContents Parse(string file, string text)
    {
        var state = new ParseState(file);
        var number = 0;
        foreach (var chunk in SplitDocuments(text))
        {
            YamlNode root;
            try
            {
                if (DepthBeyondLimit(chunk.Text) is { } tooDeep)
                {
                    number++;
                    state.Problem(number, chunk.LineOf(tooDeep), null, null, $"nests mappings and sequences more than {MaxDepth} levels deep");
                    continue;
                }

                var stream = new YamlStream();
                stream.Load(new StringReader(chunk.Text));
                if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
                {
                    continue; // only comments or blank lines: not a document kubectl would count either
                }

                number++;
                if (stream.Documents.Count > 1)
                {
                    state.Problem(number, chunk.FirstLine, null, null, "holds more than one YAML document; separate documents with a line '---'");
                    continue;
                }

                root = stream.Documents[0].RootNode;
            }
            catch (YamlException e)
            {
                number++;
                var (mark, message) = Describe(e);
                state.Problem(number, chunk.LineOf(mark), null, null, $"invalid YAML: {message}");
                continue;
            }

            ReadDocument(state, number, chunk, root);
        }

        state.CheckReferences();
        return new ClusterFileContents(state.Pods, state.ServiceAccounts, state.Nodes, state.Skipped, state.Warnings, state.Problems);
    }

    private static void ReadDocument(ParseState state, int number, Chunk chunk, YamlNode root)
    {
        var line = chunk.LineOf(root.Start);
        if (root is not YamlMappingNode mapping)
        {
            state.Problem(number, line, null, null, "is not a Kubernetes object (a mapping with apiVersion, kind and metadata)");
            return;
        }

        var apiVersion = Scalar(mapping, "apiVersion");
        var kind = Scalar(mapping, "kind");
        var metadata = Child(mapping, "metadata") as YamlMappingNode;
        var name = metadata is null ? null : Scalar(metadata, "name");
        var ns = metadata is null ? null : Scalar(metadata, "namespace");
        if (kind is "Pod" or "ServiceAccount" && string.IsNullOrEmpty(ns))
        {
            ns = DefaultNamespace;
        }

        var label = kind is null ? null : $"{kind} {(string.IsNullOrEmpty(ns) ? "" : ns + "/")}{name ?? "(no name)"}";
        if (string.IsNullOrEmpty(kind) || string.IsNullOrEmpty(apiVersion))
        {
            state.Problem(number, line, label, string.IsNullOrEmpty(kind) ? "kind" : "apiVersion", "missing; every object needs apiVersion and kind");
            return;
        }

        var document = new Document(state.File, number, chunk, mapping, label!);
        switch (apiVersion, kind)
        {
            case ("v1", "Pod"):
                if (Deserialize(state, document, LocalModeJsonContext.Default.V1Pod) is { } pod)
                {
                    AddPod(state, document, pod);
                }

                break;
            case ("v1", "ServiceAccount"):
                if (Deserialize(state, document, LocalModeJsonContext.Default.V1ServiceAccount) is { } serviceAccount)
                {
                    AddServiceAccount(state, document, serviceAccount);
                }

                break;
            case ("v1", "Node"):
                if (Deserialize(state, document, LocalModeJsonContext.Default.V1Node) is { } node)
                {
                    AddNode(state, document, node);
                }

                break;
            case (_, "Pod" or "ServiceAccount" or "Node"):
                state.Problems.Add(document.Issue("apiVersion", $"{kind} is in apiVersion v1, not '{apiVersion}'"));
                break;
            default:
                state.Skipped.Add(document.Issue(null, "skipped: local mode reads only v1 Pods, ServiceAccounts and Nodes"));
                break;
        }
    }

    private static T? Deserialize<T>(ParseState state, Document document, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return YamlModelReader.Read(document.Root, type);
        }
        catch (YamlException e)
        {
            var (mark, message) = Describe(e);
            state.Problem(document.Number, document.Chunk.LineOf(mark), document.Label, FieldAt(document.Root, mark, ""), message);
            return null;
        }
    }

    private static void AddPod(ParseState state, Document document, V1Pod pod)
    {
        if (!HasName(state, document, pod.Metadata))
        {
            return;
        }

        pod.Metadata.NamespaceProperty = string.IsNullOrEmpty(pod.Metadata.NamespaceProperty) ? DefaultNamespace : pod.Metadata.NamespaceProperty;
        var problems = state.Problems.Count;
        CheckIp(state, document, "status.podIP", pod.Status?.PodIP);
        for (var i = 0; i < (pod.Status?.PodIPs?.Count ?? 0); i++)
        {
            CheckIp(state, document, $"status.podIPs[{i}].ip", pod.Status!.PodIPs[i].Ip);
        }

        if (state.Problems.Count > problems || !state.Unique(document, "Pod", $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}"))
        {
            return;
        }

        if (PodInfo.FromPod(pod) is { Ips.Count: 0 })
        {
            var (field, why) = pod switch
            {
                { Spec.HostNetwork: true } => ("spec.hostNetwork", "is true: a hostNetwork pod shares its node's IP and is never given a role"),
                { Status.Phase: "Succeeded" or "Failed" } => ("status.phase", $"is {pod.Status.Phase}: a finished pod no longer owns its IP"),
                _ => ("status.podIP", "is not set, so no request can come from this pod; in local mode set it (127.0.0.1 is this machine) and status.phase: Running"),
            };
            state.Warnings.Add(document.Issue(field, why));
        }

        state.Pods.Add(pod);
        state.PodDocuments.Add((pod, document));
    }

    private static void AddServiceAccount(ParseState state, Document document, V1ServiceAccount serviceAccount)
    {
        if (!HasName(state, document, serviceAccount.Metadata))
        {
            return;
        }

        var meta = serviceAccount.Metadata;
        meta.NamespaceProperty = string.IsNullOrEmpty(meta.NamespaceProperty) ? DefaultNamespace : meta.NamespaceProperty;
        if (!state.Unique(document, "ServiceAccount", $"{meta.NamespaceProperty}/{meta.Name}"))
        {
            return;
        }

        // As in a cluster, a bad role annotation does not reject the object: the pods of this ServiceAccount are
        // refused credentials. Saying so here saves a round of guessing.
        if (RoleAnnotations.Parse(new NamespacedName(meta.NamespaceProperty, meta.Name), meta.Annotations) is RoleAssignment.Invalid invalid)
        {
            state.Warnings.Add(document.Issue("metadata.annotations", $"{invalid.Reason}; its pods get no credentials"));
        }

        state.ServiceAccounts.Add(serviceAccount);
    }

    private static void AddNode(ParseState state, Document document, V1Node node)
    {
        if (HasName(state, document, node.Metadata) && state.Unique(document, "Node", node.Metadata.Name))
        {
            state.Nodes.Add(node);
        }
    }

    private static bool HasName(ParseState state, Document document, V1ObjectMeta? metadata)
    {
        if (!string.IsNullOrEmpty(metadata?.Name))
        {
            return true;
        }

        state.Problems.Add(document.Issue("metadata.name", "missing"));
        return false;
    }

    private static void CheckIp(ParseState state, Document document, string field, string? value)
    {
        if (!string.IsNullOrEmpty(value) && !IPAddress.TryParse(value, out _))
        {
            state.Problems.Add(document.Issue(field, $"'{value}' is not an IP address"));
        }
    }

    /// <summary>
    /// Where a document first nests deeper than <see cref="MaxDepth"/>, or null. YamlDotNet's event parser is a
    /// state machine, not recursive, and stops here at the first level too many, so the check costs little
    /// whatever the input. A syntax error before that point throws, and is reported as any other.
    /// </summary>
    private static Mark? DepthBeyondLimit(string text)
    {
        var parser = new Parser(new StringReader(text));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case MappingStart or SequenceStart when ++depth > MaxDepth:
                    return parser.Current.Start;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
            }
        }

        return null;
    }

    /// <summary>Splits on lines that are <c>---</c> (optionally followed by a comment), as kubectl does.</summary>
    private static IEnumerable<Chunk> SplitDocuments(string text)
    {
        var lines = text.Split('\n');
        var start = 0;
        for (var i = 0; i <= lines.Length; i++)
        {
            if (i == lines.Length || (lines[i].StartsWith("---", StringComparison.Ordinal) && lines[i][3..].Trim() is "" or ['#', ..]))
            {
                var last = i - 1;
                while (last > start && string.IsNullOrWhiteSpace(lines[last]))
                {
                    last--;
                }

                yield return new Chunk(string.Join('\n', lines[start..i]), start + 1, Math.Max(start, last) + 1);
                start = i + 1;
            }
        }
    }

    /// <summary>Where reading stopped and why, in words for a person editing the file (the innermost located error).</summary>
    private static (Mark Mark, string Message) Describe(YamlException exception)
    {
        var located = exception;
        for (var e = exception.InnerException; e is not null; e = e.InnerException)
        {
            if (e is YamlException yaml && !yaml.Start.Equals(Mark.Empty))
            {
                located = yaml;
            }
        }

        return (located.Start, located.Message.TrimEnd('.'));
    }

    /// <summary>
    /// The path (<c>status.podIP</c>, <c>spec.containers[0].name</c>) of the deepest node at <paramref name="mark"/>.
    /// Block mappings carry no end mark, so a mark belongs to the last entry that starts at or before it.
    /// </summary>
    private static string? FieldAt(YamlNode node, Mark mark, string path)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var entry = mapping.Children.LastOrDefault(c => c.Key.Start.Index <= mark.Index);
                if (entry.Key is not null)
                {
                    var keyPath = path + Segment(entry.Key);
                    return mark.Index < entry.Key.End.Index || entry.Value.Start.Index > mark.Index
                        ? keyPath.TrimStart('.')
                        : FieldAt(entry.Value, mark, keyPath);
                }

                break;
            case YamlSequenceNode sequence:
                for (var i = sequence.Children.Count - 1; i >= 0; i--)
                {
                    if (sequence.Children[i].Start.Index <= mark.Index)
                    {
                        return FieldAt(sequence.Children[i], mark, $"{path}[{i}]");
                    }
                }

                break;
        }

        return path.Length == 0 ? null : path.TrimStart('.');
    }

    private static string Segment(YamlNode key)
    {
        var text = (key as YamlScalarNode)?.Value ?? key.ToString();
        return text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? $".{text}" : $"[{text}]";
    }

    private static YamlNode? Child(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlMappingNode mapping, string key) => (Child(mapping, key) as YamlScalarNode)?.Value;

    /// <summary>One document's text and the lines of the file it spans (up to its last non-blank line).</summary>
    private readonly record struct Chunk(string Text, int FirstLine, int LastLine)
    {
        /// <summary>The file line of a mark; errors found at the end of the text point at the document's last line.</summary>
        public int LineOf(Mark mark) => Math.Clamp(FirstLine + (int)mark.Line - 1, FirstLine, LastLine);
    }

    /// <summary>One object's document: reports name the line of the field they are about, when it is there.</summary>
    private sealed record Document(string File, int Number, Chunk Chunk, YamlMappingNode Root, string Label)
    {
        public ClusterFileProblem Issue(string? field, string message) => new(File, Number, LineOf(field), Label, field, message);

        private int LineOf(string? field)
        {
            YamlNode? node = Root;
            YamlNode located = Root;
            foreach (var step in (field ?? "").Split('.', StringSplitOptions.RemoveEmptyEntries))
            {
                var bracket = step.IndexOf('[', StringComparison.Ordinal);
                var key = bracket < 0 ? step : step[..bracket];
                if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var value))
                {
                    break;
                }

                located = mapping.Children.Keys.First(k => k is YamlScalarNode scalar && scalar.Value == key);
                node = value;
                if (bracket >= 0 && int.TryParse(step.AsSpan()[(bracket + 1)..^1], out var index))
                {
                    if (node is not YamlSequenceNode sequence || index >= sequence.Children.Count)
                    {
                        break;
                    }

                    node = located = sequence.Children[index];
                }
            }

            return Chunk.LineOf(located.Start);
        }
    }

    private sealed class ParseState(string file)
    {
        private readonly Dictionary<string, int> _documentOf = new(StringComparer.Ordinal);

        public string File => file;

        public List<V1Pod> Pods { get; } = [];

        public List<(V1Pod Pod, Document Document)> PodDocuments { get; } = [];

        public List<V1ServiceAccount> ServiceAccounts { get; } = [];

        public List<V1Node> Nodes { get; } = [];

        public List<ClusterFileProblem> Skipped { get; } = [];

        public List<ClusterFileProblem> Warnings { get; } = [];

        public List<ClusterFileProblem> Problems { get; } = [];

        public void Problem(int document, int line, string? label, string? field, string message) =>
            Problems.Add(new ClusterFileProblem(file, document, line, label, field, message));

        /// <summary>Two objects of one kind and name: kubectl would apply the last one; here it is surely a mistake.</summary>
        public bool Unique(Document document, string kind, string name)
        {
            if (_documentOf.TryGetValue($"{kind} {name}", out var first))
            {
                Problems.Add(document.Issue("metadata.name", $"{kind} {name} is also defined in document {first}"));
                return false;
            }

            _documentOf.Add($"{kind} {name}", document.Number);
            return true;
        }

        /// <summary>A pod whose ServiceAccount or node is not in the file still loads (as in a cluster), with a hint.</summary>
        public void CheckReferences()
        {
            foreach (var (pod, document) in PodDocuments)
            {
                var serviceAccount = string.IsNullOrEmpty(pod.Spec?.ServiceAccountName) ? "default" : pod.Spec.ServiceAccountName;
                if (!_documentOf.ContainsKey($"ServiceAccount {pod.Metadata.NamespaceProperty}/{serviceAccount}"))
                {
                    Warnings.Add(document.Issue("spec.serviceAccountName",
                        $"ServiceAccount {pod.Metadata.NamespaceProperty}/{serviceAccount} is not in the file; requests from this pod wait for it, then fail"));
                }

                if (pod.Spec?.NodeName is { Length: > 0 } node && !_documentOf.ContainsKey($"Node {node}"))
                {
                    Warnings.Add(document.Issue("spec.nodeName", $"Node {node} is not in the file; this pod has no region or availability zone"));
                }
            }
        }
    }
}
