using Xunit.Sdk;

namespace Iam4Kube.Tests.Deploy;

/// <summary>Finds the external programs the deploy tests run (helm, promtool): a missing one fails the test
/// with how to get it, never skips it.</summary>
internal static class ExternalTool
{
    /// <summary>The first <paramref name="name"/> in <paramref name="searchPath"/>; else fails with
    /// <paramref name="purposeAndRemedy"/>, which says what the tests need it for and how to install it.</summary>
    public static string Find(string name, IEnumerable<string> searchPath, string purposeAndRemedy)
    {
        var searched = searchPath.ToList();
        return searched.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
            ?? throw new XunitException($"{name} is not installed (looked in {string.Join(", ", searched)}): {purposeAndRemedy}");
    }
}
