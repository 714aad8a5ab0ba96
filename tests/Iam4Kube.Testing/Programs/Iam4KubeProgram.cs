namespace Iam4Kube.Testing.Programs;

/// <summary>How tests run the real iam4kube binary as a child process.</summary>
public static class Iam4KubeProgram
{
    /// <summary>The iam4kube build next to the running tests (a test project that references iam4kube copies it there).</summary>
    public static string Dll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "iam4kube.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("iam4kube.dll is not next to the tests", path);
        }
    }

    /// <summary>
    /// Its own AWS credentials for the fake STS (never used against AWS), no profile or config files of the
    /// machine, and no lookups of the machine's real metadata service.
    /// </summary>
    public static Dictionary<string, string?> Environment(string home, string name = "iam4kube") => new()
    {
        ["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE0000000000",
        ["AWS_SECRET_ACCESS_KEY"] = "x",
        ["AWS_SESSION_TOKEN"] = "",
        ["AWS_PROFILE"] = "",
        ["AWS_CONFIG_FILE"] = Path.Combine(home, $"{name}-aws-config"),
        ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(home, $"{name}-aws-credentials"),
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };
}
