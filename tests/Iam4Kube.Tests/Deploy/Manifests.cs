using Iam4Kube.Testing;
using System.Collections.Concurrent;

namespace Iam4Kube.Tests.Deploy;

/// <summary>
/// Every variant of the deployment the tests check: the files under deploy/base as written, every
/// kustomization (the base and each overlay) as <c>kubectl kustomize</c> renders it, and the Helm chart as
/// <c>helm template</c> renders it with its default values. An overlay added later is picked up without touching
/// the tests, so it cannot drop a property the base guarantees; nor can the chart.
/// </summary>
public static class Manifests
{
    public const string BaseFiles = "deploy/base/*.yaml";

    private static readonly ConcurrentDictionary<string, Lazy<ManifestSet>> Cache = new();

    /// <summary>Theory data: every variant.</summary>
    public static TheoryData<string> Variants()
    {
        var data = new TheoryData<string> { BaseFiles, "deploy/base" };
        foreach (var overlay in OverlayNames())
        {
            data.Add(overlay);
        }

        data.Add(Helm.Chart);
        return data;
    }

    /// <summary>Theory data: what operators install (every overlay, and the chart).</summary>
    public static TheoryData<string> Installable()
    {
        var data = Overlays();
        data.Add(Helm.Chart);
        return data;
    }

    /// <summary>Theory data: every kustomization under deploy/overlays.</summary>
    public static TheoryData<string> Overlays()
    {
        var data = new TheoryData<string>();
        foreach (var overlay in OverlayNames())
        {
            data.Add(overlay);
        }

        return data;
    }

    internal static ManifestSet Load(string variant) =>
        Cache.GetOrAdd(variant, v => new Lazy<ManifestSet>(() => Read(v))).Value;

    /// <summary>The YAML files of deploy/base that hold objects (everything but the kustomization itself).</summary>
    internal static IReadOnlyList<string> BaseFileNames() =>
        Directory.GetFiles(Checkout.Combine("deploy", "base"))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => (name.EndsWith(".yaml", StringComparison.Ordinal) || name.EndsWith(".yml", StringComparison.Ordinal))
                && name != "kustomization.yaml")
            .Order(StringComparer.Ordinal)
            .ToList();

    internal static IEnumerable<string> OverlayNames() =>
        Directory.GetDirectories(Checkout.Combine("deploy", "overlays"))
            .Where(directory => File.Exists(Path.Combine(directory, "kustomization.yaml")))
            .Select(directory => $"deploy/overlays/{Path.GetFileName(directory)}")
            .Order(StringComparer.Ordinal);

    private static ManifestSet Read(string variant)
    {
        if (variant == BaseFiles)
        {
            var objects = BaseFileNames()
                .SelectMany(name => ManifestSet.LoadStrictly($"deploy/base/{name}", File.ReadAllText(Checkout.Combine("deploy", "base", name))))
                .ToList();
            return new ManifestSet(variant, rendered: false, objects);
        }

        if (variant == Helm.Chart)
        {
            return Helm.Render();
        }

        return ManifestSet.Parse(variant, rendered: true, Kustomize.Render(Checkout.Combine(variant.Split('/'))));
    }
}
