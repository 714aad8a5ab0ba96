namespace Iam4Kube.Benchmarks;

/// <summary>How long and how often: the full run repeats more and measures longer than <c>--quick</c>.</summary>
internal sealed record BenchSettings
{
    public required string Iam4KubeDll { get; init; }

    public bool Quick { get; init; }

    public HashSet<int> Only { get; init; } = [];

    public string? MarkdownFile { get; init; }

    public int Repetitions => Quick ? 3 : 5;

    public TimeSpan Duration => Quick ? TimeSpan.FromSeconds(4) : TimeSpan.FromSeconds(10);

    public int ScaleRepetitions => Quick ? 1 : 3;

    public bool Runs(int scenario) => Only.Count == 0 || Only.Contains(scenario);

    public static BenchSettings Parse(string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "iam4kube.dll");
        var quick = false;
        HashSet<int> only = [];
        string? markdown = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--iam4kube":
                    dll = args[++i];
                    break;
                case "--only":
                    only = [.. args[++i].Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture))];
                    break;
                case "--markdown":
                    markdown = args[++i];
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        return new BenchSettings { Iam4KubeDll = dll, Quick = quick, Only = only, MarkdownFile = markdown };
    }
}
