using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Iam4Kube.Shared;
using Ip2Service.Endpoints;
using Ip2Service.Iptables;
using Ip2Service.Rules;
using Ip2Service.Sync;

namespace Ip2Service.Hosting;

/// <summary>
/// Parses and validates the whole command line before anything runs, so that a typo is a clear message and exit
/// code 2, not a half-started daemon. Options are `--name value` or `--name=value`; only `--exclude-ip` may repeat.
/// </summary>
internal static partial class CommandLineParser
{
    private const string ExcludeIp = "--exclude-ip";

    private static readonly string[] InterceptFlags = ["--intercept-ip", "--intercept-port", ExcludeIp];
    private static readonly string[] LogFlags = ["--log-format", "--log-level"];

    private static readonly Dictionary<string, string[]> FlagsByCommand = new(StringComparer.Ordinal)
    {
        ["run"] =
        [
            "--service-namespace", "--service-name", "--service-port", "--kubeconfig", "--admin-listen",
            "--iptables-backend", "--ipv6", "--pod-identity-port", "--resync-interval", "--node-name", "--startup-taint",
            .. InterceptFlags, .. LogFlags,
        ],
        ["render"] = ["--endpoints", .. InterceptFlags, .. LogFlags],
        ["apply"] = ["--endpoints", "--iptables-backend", .. InterceptFlags, .. LogFlags],
        ["clean"] = ["--iptables-backend", .. LogFlags],
    };

    public static CommandLineRequest Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
        {
            throw new CommandLineException("no command given (run, render, apply or clean)");
        }
        var command = args[0];
        if (command is "--help" or "-h" or "help")
        {
            return new HelpRequest(args.Count > 1 && command == "help" ? args[1] : null);
        }
        if (command == "--version")
        {
            return new VersionRequest();
        }
        if (!FlagsByCommand.TryGetValue(command, out var allowed))
        {
            throw new CommandLineException($"unknown command \"{command}\" (expected run, render, apply or clean)");
        }
        if (args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            return new HelpRequest(command);
        }

        var flags = ReadFlags(command, args, allowed);
        var log = ParseLog(flags);
        return command switch
        {
            "run" => ParseRun(flags, log),
            "render" or "apply" => ParseRules(command == "apply", flags, log),
            _ => new CleanOptions(ParseBackend(flags), log),
        };
    }

    private static Dictionary<string, List<string>> ReadFlags(string command, IReadOnlyList<string> args, string[] allowed)
    {
        var flags = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new CommandLineException($"unexpected argument \"{arg}\" for `ip2service {command}`");
            }
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            if (!allowed.Contains(name))
            {
                throw new CommandLineException(FlagsByCommand.Values.Any(flags => flags.Contains(name))
                    ? $"{name} does not apply to `ip2service {command}`"
                    : CommandLineConvention.UnknownFlag(name));
            }
            string value;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                throw new CommandLineException($"{name} needs a value");
            }
            if (!flags.TryGetValue(name, out var values))
            {
                flags[name] = values = [];
            }
            else if (name != ExcludeIp)
            {
                throw new CommandLineException($"{name} is given more than once");
            }
            values.Add(value);
        }
        return flags;
    }

    private static RunOptions ParseRun(Dictionary<string, List<string>> flags, LogOptions log)
    {
        var ns = Required(flags, "--service-namespace");
        if (!DnsLabel().IsMatch(ns))
        {
            throw new CommandLineException($"--service-namespace \"{ns}\" is not a valid namespace name (a DNS label)");
        }
        var name = Required(flags, "--service-name");
        if (!ServiceName().IsMatch(name))
        {
            throw new CommandLineException($"--service-name \"{name}\" is not a valid Service name (a DNS-1035 label)");
        }
        var port = Optional(flags, "--service-port") ?? "http";
        if (port.Length > 0 && !PortName().IsMatch(port))
        {
            throw new CommandLineException($"--service-port \"{port}\" is not a valid port name (at most 15 of a-z, 0-9, '-'; \"\" for the Service's unnamed port)");
        }
        var kubeconfig = Optional(flags, "--kubeconfig");
        if (kubeconfig is not null && !File.Exists(kubeconfig))
        {
            throw new CommandLineException($"--kubeconfig {kubeconfig}: no such file");
        }
        var adminText = Optional(flags, "--admin-listen") ?? "0.0.0.0:9091";
        if (!IPEndPoint.TryParse(adminText, out var admin) || !adminText.Contains(':', StringComparison.Ordinal))
        {
            throw new CommandLineException($"--admin-listen \"{adminText}\" is not ADDRESS:PORT (e.g. 0.0.0.0:9091)");
        }
        var podIdentityPort = Optional(flags, "--pod-identity-port") ?? "";
        if (podIdentityPort.Length > 0 && !PortName().IsMatch(podIdentityPort))
        {
            throw new CommandLineException($"--pod-identity-port \"{podIdentityPort}\" is not a valid port name (at most 15 of a-z, 0-9, '-'; \"\" turns the pod-identity target off)");
        }
        var intercept = ParseIntercept(flags);
        if (intercept.Family != IpFamily.V4)
        {
            throw new CommandLineException($"--intercept-ip for `ip2service run` is the IPv4 address; the IPv6 one is {InterceptTarget.DefaultIpv6.Address} (--ipv6 false turns it off)");
        }
        var ipv6 = ParseBool(flags, "--ipv6", true);
        var nodeName = Optional(flags, "--node-name") ?? "";
        if (nodeName.Length > 0 && !NodeName().IsMatch(nodeName))
        {
            throw new CommandLineException($"--node-name \"{nodeName}\" is not a valid Node name (a DNS subdomain)");
        }
        var taint = Optional(flags, "--startup-taint") ?? "";
        if (taint.Length > 0 && !TaintKey().IsMatch(taint))
        {
            throw new CommandLineException($"--startup-taint \"{taint}\" is not a taint key (e.g. iam4kube.io/router-not-ready)");
        }
        if (taint.Length > 0 && nodeName.Length == 0)
        {
            throw new CommandLineException("--startup-taint needs --node-name (the Node to lift it from; the downward API's spec.nodeName)");
        }
        return new RunOptions
        {
            Service = new ServiceReference(ns, name, port),
            Intercept = intercept,
            Routes = Routes(intercept, port, ipv6, podIdentityPort),
            ResyncInterval = ParseInterval(flags, "--resync-interval", RuleSyncer.DefaultResyncInterval),
            NodeName = nodeName,
            StartupTaint = taint,
            Kubeconfig = kubeconfig,
            AdminListen = admin,
            Backend = ParseBackend(flags),
            ExtraExclusions = ParseExclusions(flags),
            Log = log,
        };
    }

    /// <summary>The IMDS target on the Service port, then pod identity on its own port when asked for; each in IPv4
    /// and, with --ipv6, IPv6.</summary>
    private static ImmutableArray<InterceptRoute> Routes(InterceptTarget imds, string port, bool ipv6, string podIdentityPort)
    {
        var routes = ImmutableArray.CreateBuilder<InterceptRoute>();
        routes.Add(new InterceptRoute(imds, port));
        if (ipv6)
        {
            routes.Add(new InterceptRoute(InterceptTarget.DefaultIpv6 with { Port = imds.Port }, port));
        }
        if (podIdentityPort.Length > 0)
        {
            routes.Add(new InterceptRoute(InterceptTarget.PodIdentity, podIdentityPort));
            if (ipv6)
            {
                routes.Add(new InterceptRoute(InterceptTarget.PodIdentityIpv6, podIdentityPort));
            }
        }
        return routes.ToImmutable();
    }

    private static bool ParseBool(Dictionary<string, List<string>> flags, string name, bool fallback) =>
        Optional(flags, name) switch
        {
            null => fallback,
            "true" => true,
            "false" => false,
            var other => throw new CommandLineException($"{name} \"{other}\" is not true or false"),
        };

    /// <summary>"5s", "500ms", "1m": from 100 ms to 10 minutes.</summary>
    private static TimeSpan ParseInterval(Dictionary<string, List<string>> flags, string name, TimeSpan fallback)
    {
        var text = Optional(flags, name);
        if (text is null)
        {
            return fallback;
        }
        var match = Interval().Match(text);
        TimeSpan? value = match.Success && long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 1_000_000
            ? match.Groups["unit"].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                _ => TimeSpan.FromMinutes(n),
            }
            : null;
        if (value is not { } interval || interval < TimeSpan.FromMilliseconds(100) || interval > TimeSpan.FromMinutes(10))
        {
            throw new CommandLineException($"{name} \"{text}\" is not a duration from 100ms to 10m (e.g. 5s, 500ms)");
        }
        return interval;
    }

    private static RulesOptions ParseRules(bool apply, Dictionary<string, List<string>> flags, LogOptions log)
    {
        var text = Required(flags, "--endpoints");
        var endpoints = ImmutableArray.CreateBuilder<BackendEndpoint>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!BackendEndpoint.TryParse(item, out var endpoint))
            {
                throw new CommandLineException($"--endpoints: \"{item}\" is not IPv4:PORT or [IPv6]:PORT (e.g. 10.0.3.7:8080)");
            }
            endpoints.Add(endpoint);
        }
        var intercept = ParseIntercept(flags);
        if (endpoints.FirstOrDefault(e => e.Family != intercept.Family) is { Address: not null } mismatch)
        {
            throw new CommandLineException($"--endpoints: {mismatch} is not of the --intercept-ip's address family");
        }
        return new RulesOptions
        {
            Apply = apply,
            Endpoints = endpoints.ToImmutable(),
            Intercept = intercept,
            ExtraExclusions = ParseExclusions(flags),
            Backend = ParseBackend(flags),
            Log = log,
        };
    }

    private static InterceptTarget ParseIntercept(Dictionary<string, List<string>> flags)
    {
        var ipText = Optional(flags, "--intercept-ip");
        var address = InterceptTarget.Default.Address;
        if (ipText is not null && !Ipv4.TryParseAny(ipText, out address))
        {
            throw new CommandLineException($"--intercept-ip \"{ipText}\" is not an IPv4 or IPv6 address");
        }
        var portText = Optional(flags, "--intercept-port");
        var port = InterceptTarget.Default.Port;
        if (portText is not null
            && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new CommandLineException($"--intercept-port \"{portText}\" is not a port number (1-65535)");
        }
        return new InterceptTarget(address, port);
    }

    private static ImmutableArray<IPAddress> ParseExclusions(Dictionary<string, List<string>> flags)
    {
        var result = ImmutableArray.CreateBuilder<IPAddress>();
        foreach (var item in flags.GetValueOrDefault(ExcludeIp, [])
                     .SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!Ipv4.TryParseAny(item, out var address))
            {
                throw new CommandLineException($"--exclude-ip \"{item}\" is not an IPv4 or IPv6 address");
            }
            result.Add(address);
        }
        return result.ToImmutable();
    }

    private static BackendChoice ParseBackend(Dictionary<string, List<string>> flags) =>
        (Optional(flags, "--iptables-backend") ?? "auto") switch
        {
            "auto" => BackendChoice.Auto,
            "nft" => BackendChoice.Nft,
            "legacy" => BackendChoice.Legacy,
            var other => throw new CommandLineException($"--iptables-backend \"{other}\" is not one of nft, legacy, auto"),
        };

    private static LogOptions ParseLog(Dictionary<string, List<string>> flags)
    {
        var format = Optional(flags, "--log-format") ?? "json";
        var json = CommandLineConvention.ParseLogFormatIsJson(format)
            ?? throw new CommandLineException($"--log-format '{format}': expected {CommandLineConvention.LogFormatNames}");
        var levelName = Optional(flags, "--log-level") ?? "info";
        var level = CommandLineConvention.ParseLogLevel(levelName)
            ?? throw new CommandLineException($"--log-level '{levelName}': expected {CommandLineConvention.LogLevelNames}");
        return new LogOptions(json, level);
    }

    private static string Required(Dictionary<string, List<string>> flags, string name) =>
        Optional(flags, name) ?? throw new CommandLineException($"{name} is required");

    private static string? Optional(Dictionary<string, List<string>> flags, string name) =>
        flags.TryGetValue(name, out var values) ? values[0] : null;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex ServiceName();

    [GeneratedRegex("^(?<n>[0-9]{1,7})(?<unit>ms|s|m)$")]
    private static partial Regex Interval();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex NodeName();

    [GeneratedRegex("^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex TaintKey();

    [GeneratedRegex("^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")]
    private static partial Regex PortName();
}
