using Iam4Kube.Testing;
using Iam4Kube.Testing.Networking;

namespace Ip2Service.Tests.TestSupport;

/// <summary>The built ip2service program, in src/Ip2Service's own output (the project reference builds it first), run
/// as a user or a DaemonSet would run it: `dotnet ip2service.dll ...`, optionally inside a network namespace.</summary>
internal static class Ip2ServiceBinary
{
    public static string Dll { get; } = Checkout.Ip2ServiceDll();

    public static Task<ProcessResult> RunAsync(NetworkNamespace where, params string[] args) =>
        where.RunAsync(ProcessRunner.DotnetHost, [Dll, .. args], timeout: TimeSpan.FromSeconds(60));

    /// <summary>As <see cref="RunAsync(NetworkNamespace, string[])"/>, with these environment variables set.</summary>
    public static Task<ProcessResult> RunAsync(NetworkNamespace where, IReadOnlyDictionary<string, string?> env, params string[] args) =>
        where.RunAsync(ProcessRunner.DotnetHost, [Dll, .. args], env, timeout: TimeSpan.FromSeconds(60));

    public static async Task<ProcessResult> RunCheckedAsync(NetworkNamespace where, params string[] args) =>
        (await RunAsync(where, args)).EnsureSuccess();

    public static BackgroundProcess Start(NetworkNamespace where, params string[] args) =>
        where.Start(ProcessRunner.DotnetHost, [Dll, .. args]);
}
