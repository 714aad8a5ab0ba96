using Iam4Kube.Shared;

namespace Iam4Kube.Explain;

/// <summary>
/// <c>iam4kube explain --admin URL (--ip IP | --pod NAMESPACE/NAME)</c>: asks a running iam4kube's admin port for
/// the text form of <c>/debug/explain</c> and prints it. Exit 0 with the explanation, 2 for a wrong command line
/// (the shared convention), 1 when the admin port cannot be reached or refuses the question.
/// </summary>
internal static class ExplainCommand
{
    public const string Usage = """
        Usage: iam4kube explain --admin URL (--ip IP | --pod NAMESPACE/NAME)

        Asks a running iam4kube why a caller gets (or does not get) its role: IP → pod → ServiceAccount →
        annotations → policy decision → credentials state → what the metadata API would answer now.

        Flags:
          --admin URL          iam4kube's admin port, such as http://localhost:9090 (kubectl port-forward)
          --ip IP              explain requests from this source IP
          --pod NS/NAME        explain this pod
          --timeout D          give up after this long (default 10s)
          -h, --help           show this help
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? admin = null, ip = null, pod = null;
        var timeout = TimeSpan.FromSeconds(10);
        var errors = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                await output.WriteLineAsync(Usage);
                return 0;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            if (name is not ("--admin" or "--ip" or "--pod" or "--timeout"))
            {
                errors.Add(arg.StartsWith("--", StringComparison.Ordinal) ? CommandLineConvention.UnknownFlag(name) : $"unexpected argument '{arg}'");
                continue;
            }

            string value;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                errors.Add($"{name} needs a value");
                break;
            }

            switch (name)
            {
                case "--admin":
                    admin = value;
                    break;
                case "--ip":
                    ip = value;
                    break;
                case "--pod":
                    pod = value;
                    break;
                default:
                    try
                    {
                        timeout = Hosting.Durations.Parse(value);
                    }
                    catch (FormatException e)
                    {
                        errors.Add($"--timeout '{value}': {e.Message}");
                    }

                    break;
            }
        }

        Uri? baseUri = null;
        if (errors.Count == 0)
        {
            if (admin is null)
            {
                errors.Add("--admin URL is required (iam4kube's admin port, such as http://localhost:9090)");
            }
            else if (!Uri.TryCreate(admin, UriKind.Absolute, out baseUri) || baseUri.Scheme is not ("http" or "https"))
            {
                errors.Add($"--admin '{admin}': expected an http:// or https:// URL");
            }

            if ((ip is null) == (pod is null))
            {
                errors.Add("give exactly one of --ip IP or --pod NAMESPACE/NAME");
            }
        }

        if (errors.Count > 0)
        {
            foreach (var problem in errors)
            {
                await error.WriteLineAsync($"iam4kube explain: {problem}");
            }

            await error.WriteLineAsync("Run 'iam4kube explain --help' for usage.");
            return CommandLineConvention.UsageExitCode;
        }

        var query = ip is not null ? $"ip={Uri.EscapeDataString(ip)}" : $"pod={Uri.EscapeDataString(pod!)}";
        var url = new Uri(baseUri!, $"/debug/explain?{query}&format=text");
        using var client = new HttpClient { Timeout = timeout };
        try
        {
            using var response = await client.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                await error.WriteLineAsync($"iam4kube explain: {url.GetLeftPart(UriPartial.Authority)} answered {(int)response.StatusCode}: {body.Trim()}");
                return 1;
            }

            await output.WriteAsync(body);
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            var reason = e is TaskCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : e.Message;
            await error.WriteLineAsync($"iam4kube explain: cannot reach iam4kube's admin port at {url.GetLeftPart(UriPartial.Authority)}: {reason}");
            return 1;
        }
    }
}
