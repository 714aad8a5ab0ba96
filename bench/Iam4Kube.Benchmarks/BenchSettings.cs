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

    /// <summary>Scenario 8's iam4kube: build/publish.sh's OUT/iam4kube/iam4kube (bench/run.sh publishes it).</summary>
    public string? PublishedIam4Kube { get; init; }

    /// <summary>Environment for the iam4kube processes of scenarios 1-5 and 8 (<c>--iam4kube-env DOTNET_TieredPGO=0</c>), to compare runtime knobs.</summary>
    public Dictionary<string, string?> Iam4KubeEnvironment { get; init; } = [];

    /// <summary>Scenario 8's cold starts (the median is reported; one more start first warms the bench's own code up).</summary>
    public int FootprintStarts => Quick ? 5 : 11;

    public bool Runs(int scenario) => Only.Count == 0 || Only.Contains(scenario);

    public static BenchSettings Parse(string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "iam4kube.dll");
        var quick = false;
        HashSet<int> only = [];
        string? markdown = null;
        string? published = null;
        Dictionary<string, string?> environment = [];
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
                case "--published":
                    published = args[++i];
                    break;
                case "--iam4kube-env":
                    var (key, value) = args[++i].Split('=', 2) is [var k, var v] ? (k, v) : throw new ArgumentException($"--iam4kube-env wants KEY=VALUE, not {args[i]}");
                    environment[key] = value;
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        return new BenchSettings
        {
            Iam4KubeDll = dll, Quick = quick, Only = only, MarkdownFile = markdown, PublishedIam4Kube = published, Iam4KubeEnvironment = environment,
        };
    }
}
