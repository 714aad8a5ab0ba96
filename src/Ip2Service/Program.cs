namespace Ip2Service; internal static class Program { private static int Main() => 0; }
