using System.Net;
using Ip2Service.Hosting;
using Ip2Service.Iptables;
using Serilog.Events;

namespace Ip2Service.Tests.Hosting;

public sealed class CommandLineParserTests
{
    [Fact]
    public void RunTakesTheDocumentedDefaults()
    {
        var run = Assert.IsType<RunOptions>(CommandLineParser.Parse(["run", "--service-namespace", "iam4kube", "--service-name", "iam4kube"]));

        Assert.Equal("iam4kube", run.Service.Namespace);
        Assert.Equal("iam4kube", run.Service.Name);
        Assert.Equal("http", run.Service.PortName);
        Assert.Equal("169.254.169.254:80", run.Intercept.ToString());
        Assert.Equal(IPEndPoint.Parse("0.0.0.0:9091"), run.AdminListen);
        Assert.Equal(BackendChoice.Auto, run.Backend);
        Assert.Null(run.Kubeconfig);
        Assert.Empty(run.ExtraExclusions);
        Assert.Equal(LogOptions.Default, run.Log);
    }

    [Fact]
    public void RunTakesEveryFlagInEitherForm()
    {
        var kubeconfig = Path.GetTempFileName();
        try
        {
            var run = Assert.IsType<RunOptions>(CommandLineParser.Parse(
            [
                "run", "--service-namespace=kube-system", "--service-name", "imds", "--service-port=metadata",
                "--intercept-ip", "169.254.170.2", "--intercept-port=8080", "--kubeconfig", kubeconfig,
                "--admin-listen", "127.0.0.1:0", "--iptables-backend=legacy", "--exclude-ip", "10.0.0.1,10.0.0.2",
                "--exclude-ip=10.0.0.3", "--log-format", "text", "--log-level=debug",
            ]));

            Assert.Equal("kube-system/imds port \"metadata\"", run.Service.ToString());
            Assert.Equal("169.254.170.2:8080", run.Intercept.ToString());
            Assert.Equal(kubeconfig, run.Kubeconfig);
            Assert.Equal(IPEndPoint.Parse("127.0.0.1:0"), run.AdminListen);
            Assert.Equal(BackendChoice.Legacy, run.Backend);
            Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], run.ExtraExclusions.Select(a => a.ToString()));
            Assert.Equal(new LogOptions(Json: false, LogEventLevel.Debug), run.Log);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public void RenderTakesAnEndpointListOrAnEmptyOne()
    {
        var render = Assert.IsType<RulesOptions>(CommandLineParser.Parse(["render", "--endpoints", "10.0.0.1:8080, 10.0.0.2:8081"]));
        Assert.False(render.Apply);
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8081"], render.Endpoints.Select(e => e.ToString()));

        var none = Assert.IsType<RulesOptions>(CommandLineParser.Parse(["apply", "--endpoints="]));
        Assert.True(none.Apply);
        Assert.Empty(none.Endpoints);
    }

    [Fact]
    public void CleanTakesABackend()
    {
        Assert.Equal(new CleanOptions(BackendChoice.Nft, LogOptions.Default), CommandLineParser.Parse(["clean", "--iptables-backend", "nft"]));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public void AsksForHelp(string flag)
    {
        Assert.Equal(new HelpRequest(null), CommandLineParser.Parse([flag]));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void AsksForHelpOnACommandEvenWithOtherFlags(string flag)
    {
        Assert.Equal(new HelpRequest("run"), CommandLineParser.Parse(["run", "--service-name", "x", flag]));
    }

    [Theory]
    [InlineData("no command given", new string[0])]
    [InlineData("unknown command \"serve\"", new[] { "serve" })]
    [InlineData("--endpoints does not apply to `ip2service run`", new[] { "run", "--endpoints", "10.0.0.1:80" })]
    [InlineData("--service-name does not apply to `ip2service render`", new[] { "render", "--service-name", "x" })]
    [InlineData("unknown flag --bogus", new[] { "run", "--bogus" })]
    [InlineData("--service-namespace is required", new[] { "run", "--service-name", "iam4kube" })]
    [InlineData("--service-name is required", new[] { "run", "--service-namespace", "iam4kube" })]
    [InlineData("--endpoints is required", new[] { "render" })]
    [InlineData("--service-name needs a value", new[] { "run", "--service-namespace", "a", "--service-name" })]
    [InlineData("--service-name needs a value", new[] { "run", "--service-name", "--service-namespace", "a" })]
    [InlineData("--service-name is given more than once", new[] { "run", "--service-namespace", "a", "--service-name", "a", "--service-name", "b" })]
    [InlineData("unexpected argument \"extra\"", new[] { "clean", "extra" })]
    [InlineData("--service-namespace \"Bad_NS\" is not a valid namespace name", new[] { "run", "--service-namespace", "Bad_NS", "--service-name", "a" })]
    [InlineData("--service-name \"1abc\" is not a valid Service name", new[] { "run", "--service-namespace", "a", "--service-name", "1abc" })]
    [InlineData("--service-port \"HTTP\" is not a valid port name", new[] { "run", "--service-namespace", "a", "--service-name", "a", "--service-port", "HTTP" })]
    [InlineData("--kubeconfig /nonexistent/kubeconfig: no such file", new[] { "run", "--service-namespace", "a", "--service-name", "a", "--kubeconfig", "/nonexistent/kubeconfig" })]
    [InlineData("--admin-listen \"9091\" is not ADDRESS:PORT", new[] { "run", "--service-namespace", "a", "--service-name", "a", "--admin-listen", "9091" })]
    [InlineData("--intercept-ip \"fd00:::1\" is not an IPv4 or IPv6 address", new[] { "render", "--endpoints", "", "--intercept-ip", "fd00:::1" })]
    [InlineData("--endpoints: [fd00::1]:80 is not of the --intercept-ip's address family", new[] { "render", "--endpoints", "[fd00::1]:80" })]
    [InlineData("--intercept-ip for `ip2service run` is the IPv4 address", new[] { "run", "--service-namespace", "a", "--service-name", "b", "--intercept-ip", "fd00::1" })]
    [InlineData("--resync-interval \"5\" is not a duration", new[] { "run", "--service-namespace", "a", "--service-name", "b", "--resync-interval", "5" })]
    [InlineData("--resync-interval \"50ms\" is not a duration", new[] { "run", "--service-namespace", "a", "--service-name", "b", "--resync-interval", "50ms" })]
    [InlineData("--ipv6 \"yes\" is not true or false", new[] { "run", "--service-namespace", "a", "--service-name", "b", "--ipv6", "yes" })]
    [InlineData("--pod-identity-port \"Pod_Identity\" is not a valid port name", new[] { "run", "--service-namespace", "a", "--service-name", "b", "--pod-identity-port", "Pod_Identity" })]
    [InlineData("--startup-taint needs --node-name", new[] { "run", "--service-namespace", "a", "--service-name", "b", "--startup-taint", "iam4kube.io/router-not-ready" })]
    [InlineData("--startup-taint \"not a key\" is not a taint key", new[] { "run", "--service-namespace", "a", "--service-name", "b", "--node-name", "n1", "--startup-taint", "not a key" })]
    [InlineData("--intercept-port \"0\" is not a port number", new[] { "render", "--endpoints", "", "--intercept-port", "0" })]
    [InlineData("--endpoints: \"10.0.0.1\" is not IPv4:PORT", new[] { "render", "--endpoints", "10.0.0.1" })]
    [InlineData("--exclude-ip \"10.0.0\" is not an IPv4 or IPv6 address", new[] { "render", "--endpoints", "", "--exclude-ip", "10.0.0" })]
    [InlineData("--iptables-backend \"iptables\" is not one of nft, legacy, auto", new[] { "clean", "--iptables-backend", "iptables" })]
    [InlineData("--log-format 'xml': expected json or text", new[] { "clean", "--log-format", "xml" })]
    [InlineData("--log-level 'loud': expected trace, debug, info, warn or error", new[] { "clean", "--log-level", "loud" })]
    public void RejectsInvalidCommandLinesWithAClearMessage(string message, string[] args)
    {
        var error = Assert.Throws<CommandLineException>(() => CommandLineParser.Parse(args));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("warn")]
    [InlineData("warning")]
    [InlineData("WARN")]
    public void AcceptsTheLogLevelNamesIam4KubeAccepts(string level)
    {
        var clean = Assert.IsType<CleanOptions>(CommandLineParser.Parse(["clean", "--log-level", level]));

        Assert.Equal(LogEventLevel.Warning, clean.Log.Level);
    }

    [Fact]
    public void VersionIsACommandOfItsOwn()
    {
        Assert.IsType<VersionRequest>(CommandLineParser.Parse(["--version"]));
    }
}
