namespace Iam4Kube.Testing;

/// <summary>
/// The repository the tests were built from (the first folder above the test binaries that holds Iam4Kube.sln),
/// and the programs built in it, in the tests' own configuration.
/// </summary>
public static class Checkout
{
    private static readonly Lazy<string> Found = new(Find);

    public static string Root => Found.Value;

    /// <summary>Debug or Release: whichever the running tests were built in.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>iam4kube.dll as src/Iam4Kube builds it (test projects reference it so that it is built first).</summary>
    public static string Iam4KubeDll() => Built(Combine("src", "Iam4Kube"), "iam4kube.dll");

    /// <summary>ip2service.dll as src/Ip2Service builds it, beside its own deps.json and runtimeconfig.json: run from a
    /// test project's output, it would find that project's assemblies (ASP.NET Core's, say) instead of its own.</summary>
    public static string Ip2ServiceDll() => Built(Combine("src", "Ip2Service"), "ip2service.dll");

    /// <summary>The AWSSDK for .NET client program of the end-to-end tests.</summary>
    public static string DotnetImdsClientDll() => Built(Combine("tests", "SdkClients", "DotnetImdsClient"), "DotnetImdsClient.dll");

    /// <summary>The AWS SDK for JavaScript v3 client script of the end-to-end tests (its node_modules/ installed by test.sh).</summary>
    public static string JsImdsClientScript()
    {
        var folder = Combine("tests", "SdkClients", "JsImdsClient");
        return Directory.Exists(Path.Combine(folder, "node_modules", "@aws-sdk", "credential-providers"))
            ? Path.Combine(folder, "client.mjs")
            : throw new DirectoryNotFoundException($"the JavaScript SDK is not installed in {folder}/node_modules; run ./test.sh (npm ci there)");
    }

    private static string Built(string projectFolder, string assembly)
    {
        var path = Path.Combine(projectFolder, "bin", Configuration, "net10.0", assembly);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{assembly} is not built at {path}; build the solution in {Configuration} (./test.sh does)", path);
    }

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Iam4Kube.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no folder above {AppContext.BaseDirectory} holds Iam4Kube.sln");
    }
}
