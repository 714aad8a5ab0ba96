using Iam4Kube.Testing;
namespace Iam4Kube.Tests.LocalMode;

/// <summary>
/// The commands of README.md's "Try it locally" section, read from the README itself, so that the tests run what a
/// newcomer copies (with free ports instead of 8080 and 9090, which may be taken where tests run).
/// </summary>
internal static class ReadmeLocalMode
{
    public const string RunPrefix = "dotnet run --project src/Iam4Kube -- ";
    public const string DocumentedMetadataAddress = "127.0.0.1:8080";
    public const string DocumentedAdminAddress = "127.0.0.1:9090";

    /// <summary>The shell lines inside the section's code blocks.</summary>
    public static IReadOnlyList<string> CommandLines { get; } = Read();

    /// <summary>The iam4kube flags of the first command (everything after <c>--</c>).</summary>
    public static IReadOnlyList<string> RunArguments =>
        CommandLines.FirstOrDefault(l => l.StartsWith(RunPrefix, StringComparison.Ordinal)) is { } run
            ? run[RunPrefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : throw new InvalidOperationException($"README.md's 'Try it locally' section has no line starting with '{RunPrefix}'");

    /// <summary>What the section says to run next against the metadata API (curl, awscli, boto3).</summary>
    public static IReadOnlyList<string> FollowUpCommands =>
        [.. CommandLines.Where(l => l.StartsWith("curl ", StringComparison.Ordinal) || l.StartsWith("AWS_EC2_METADATA_SERVICE_ENDPOINT=", StringComparison.Ordinal))];

    /// <summary>The README's run flags, with the two listeners moved to the given ports.</summary>
    public static List<string> RunArgumentsWithPorts(int metadataPort, int adminPort) =>
        [.. RunArguments.Select(a => a switch
        {
            DocumentedMetadataAddress => $"127.0.0.1:{metadataPort}",
            DocumentedAdminAddress => $"127.0.0.1:{adminPort}",
            _ => a,
        })];

    private static List<string> Read()
    {
        var lines = File.ReadAllLines(Path.Combine(Checkout.Root, "README.md"));
        var start = Array.FindIndex(lines, l => l.StartsWith("## Try it locally", StringComparison.Ordinal));
        if (start < 0)
        {
            throw new InvalidOperationException("README.md has no '## Try it locally' section");
        }

        var commands = new List<string>();
        var inCode = false;
        foreach (var line in lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal) && !l.StartsWith("**Test**", StringComparison.Ordinal)))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
            }
            else if (inCode && line.Trim().Length > 0)
            {
                commands.Add(line.Trim());
            }
        }

        return commands;
    }
}
