namespace Iam4Kube.Tests.LocalMode;

/// <summary>The repository the tests were built from: the first folder above the test binaries holding Iam4Kube.sln.</summary>
internal static class Checkout
{
    public static string Root { get; } = Find();

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
