namespace Iam4Kube;

internal static class Program
{
    private static int Main() => 0;
}
