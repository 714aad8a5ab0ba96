using System.Globalization;
using System.Net;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;
using k8s.Models;

// ip2service's resident memory, idle, following one Service's EndpointSlices: the fake kube-apiserver holds the
// Service's two slices (three endpoints), ip2service runs in its own network namespace (its rules go there, not into
// the machine's) and reaches the API server through a veth and a relay, as in tests/Ip2Service.Tests. Once it has
// programmed the rules it is left alone; VmRSS is read every second and the figure is the last one, once two
// readings 5 s apart differ by less than 1 % (or after --idle seconds).
//
//   Ip2Service.Footprint --label NAME (--dll PATH/ip2service.dll | --exe PATH/ip2service) [--idle SECONDS]
//                        [--env NAME=VALUE]... [--smaps]
// Prints one line: label, VmRSS and VmHWM in MiB, seconds from start to ready; with --smaps, RSS per mapping.
var options = Options.Parse(args);
var timeout = TimeSpan.FromSeconds(60);

await using var node = await NetworkNamespace.CreateAsync("fp");
await using var api = new FakeKubernetesApiServer();
await api.StartAsync();
api.BookmarkInterval = TimeSpan.FromSeconds(5);
api.Create(Slice("iam4kube-abcde", ["10.77.1.1", "10.77.1.2"]));
api.Create(Slice("iam4kube-fghij", ["10.77.1.3"]));
await using var bridge = await LoopbackBridge.CreateAsync(node);
var kubeconfig = Path.Combine(Path.GetTempPath(), $"ip2service-footprint-{Guid.NewGuid():N}.kubeconfig");
await File.WriteAllTextAsync(kubeconfig, FakeKubernetesApiServer.Kubeconfig(new Uri($"http://{bridge.Expose(new IPEndPoint(IPAddress.Loopback, api.BaseAddress.Port))}")));
try
{
    string[] run = ["run", "--service-namespace", "iam4kube", "--service-name", "iam4kube", "--kubeconfig", kubeconfig, "--iptables-backend", "nft"];
    var started = System.Diagnostics.Stopwatch.StartNew();
    await using var ip2service = options.Dll is { } dll
        ? node.Start(ProcessRunner.DotnetHost, [dll, .. run], options.Env)
        : node.Start(options.Exe!, run, options.Env);
    await ip2service.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", timeout);
    var ready = started.Elapsed;
    await ip2service.WaitForLineAsync("3 endpoint(s)", timeout);

    // Idle: settled once the last 5 s moved RSS by less than 1 %, bounded by --idle.
    var readings = new List<double>();
    var idle = System.Diagnostics.Stopwatch.StartNew();
    while (true)
    {
        await Task.Delay(TimeSpan.FromSeconds(1));
        if (ip2service.HasExited)
        {
            throw new InvalidOperationException($"ip2service exited:\n{ip2service.Output}");
        }
        readings.Add(Status(ip2service.Id, "VmRSS"));
        var settled = readings.Count > 5 && Math.Abs(readings[^1] - readings[^6]) < readings[^1] / 100;
        if ((settled && idle.Elapsed >= TimeSpan.FromSeconds(options.MinIdleSeconds)) || idle.Elapsed >= TimeSpan.FromSeconds(options.IdleSeconds))
        {
            break;
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{options.Label,-44} RSS {readings[^1],6:0.0} MiB  peak {Status(ip2service.Id, "VmHWM"),6:0.0} MiB  ready in {ready.TotalSeconds:0.00} s  idle {idle.Elapsed.TotalSeconds:0} s"));
    if (options.Smaps)
    {
        PrintSmaps(ip2service.Id);
    }

    if (await ip2service.StopAsync() != 0)
    {
        throw new InvalidOperationException($"ip2service did not exit cleanly:\n{ip2service.Output}");
    }
}
finally
{
    File.Delete(kubeconfig);
}

static double Status(int pid, string counter) => ProcessFigures.StatusKiB(pid)[counter] / 1024.0;

// Where the resident memory is: RSS per mapping (file-backed by file name, the rest by kind), largest first.
static void PrintSmaps(int pid)
{
    var byMapping = new Dictionary<string, double>();
    var current = "";
    foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
        {
            current = fields.Length >= 6 ? Path.GetFileName(fields[5]) is { Length: > 0 } name ? name : fields[5] : "[anonymous]";
        }
        else if (fields is ["Rss:", var kb, "kB"])
        {
            byMapping[current] = byMapping.GetValueOrDefault(current) + (long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0);
        }
    }

    foreach (var (name, mib) in byMapping.OrderByDescending(m => m.Value).Take(15))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {mib,7:0.0} MiB  {name}"));
    }
}

static V1EndpointSlice Slice(string name, string[] addresses) => new()
{
    ApiVersion = "discovery.k8s.io/v1",
    Kind = "EndpointSlice",
    Metadata = new V1ObjectMeta
    {
        Name = name,
        NamespaceProperty = "iam4kube",
        Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "iam4kube" },
    },
    AddressType = "IPv4",
    Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
    Endpoints = [.. addresses.Select(a => new V1Endpoint { Addresses = [a], Conditions = new V1EndpointConditions { Ready = true, Serving = true, Terminating = false } })],
};

internal sealed record Options(string Label, string? Dll, string? Exe, int IdleSeconds, int MinIdleSeconds, bool Smaps, Dictionary<string, string?> Env)
{
    public static Options Parse(string[] args)
    {
        string? label = null, dll = null, exe = null;
        var idle = 60;
        var minIdle = 15;
        var smaps = false;
        var env = new Dictionary<string, string?>();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (args[i] == "--smaps")
            {
                (smaps, i) = (true, i - 1);
                continue;
            }

            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--label": label = value; break;
                case "--dll": dll = Path.GetFullPath(value); break;
                case "--exe": exe = Path.GetFullPath(value); break;
                case "--idle": idle = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--min-idle": minIdle = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--env":
                    var eq = value.IndexOf('=', StringComparison.Ordinal);
                    env[value[..eq]] = value[(eq + 1)..];
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return dll is null == exe is null
            ? throw new ArgumentException("give exactly one of --dll and --exe")
            : new Options(label ?? dll ?? exe!, dll, exe, idle, minIdle, smaps, env);
    }
}
