namespace Iam4Kube.Testing; public static class Placeholder { }
