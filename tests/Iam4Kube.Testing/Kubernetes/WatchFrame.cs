namespace Iam4Kube.Testing.Kubernetes;

/// <summary>What a watch connection writes next: a line, or (when <see cref="Drop"/>) the connection's end.</summary>
internal readonly record struct WatchFrame(byte[] Bytes, bool Drop = false);
