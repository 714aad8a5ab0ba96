using System.Net;
using Iam4Kube.Hosting;
using Iam4Kube.Testing;

namespace Iam4Kube.Tests.Hosting;

public sealed class CommandLineTests
{
    private static ParseResult Parse(string[] args, Dictionary<string, string>? environment = null) =>
        CommandLine.Parse(args, name => environment?.GetValueOrDefault(name));

    [Fact]
    public void DefaultsMatchTheDocumentedInterface()
    {
        var options = Parse([]).Options!;
        Assert.Equal(new IPEndPoint(IPAddress.Any, 8080), options.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 9090), options.AdminListen);
        Assert.Equal(10, options.StsRate);
        Assert.Equal(20, options.StsBurst);
        Assert.Equal(TimeSpan.FromHours(1), options.SessionDuration);
        Assert.Equal(TimeSpan.FromSeconds(15), options.WaitTimeout);
        Assert.Equal(LogFormat.Json, options.LogFormat);
        Assert.Equal(Serilog.Events.LogEventLevel.Information, options.LogLevel);
        Assert.True(options.AuditLog);
        Assert.Equal(TimeSpan.FromSeconds(60), options.ReadyWaitForRoles);
        Assert.False(options.RequireImdsTokens);
    }

    [Fact]
    public void ParsesTheReadinessBoundAndTheImdsTokenMode()
    {
        var options = Parse(["--ready-wait-for-roles", "90s", "--imds-tokens=required"]).Options!;
        Assert.Equal(TimeSpan.FromSeconds(90), options.ReadyWaitForRoles);
        Assert.True(options.RequireImdsTokens);
        Assert.False(Parse(["--imds-tokens", "optional"]).Options!.RequireImdsTokens);
    }

    [Fact]
    public void ParsesEveryFlagInBothSpellings()
    {
        var options = Parse([
            "--listen", "127.0.0.1:0", "--admin-listen=127.0.0.1:9999", "--sts-endpoint", "http://127.0.0.1:4566",
            "--region", "eu-central-1", "--sts-rate", "2.5", "--sts-burst=5", "--session-duration", "2h30m",
            "--wait-timeout", "500ms", "--log-format", "text", "--log-level", "debug", "--audit-log=off",
        ]).Options!;
        Assert.False(options.AuditLog);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 0), options.Listen);
        Assert.Equal(9999, options.AdminListen.Port);
        Assert.Equal("http://127.0.0.1:4566", options.StsEndpoint);
        Assert.Equal("eu-central-1", options.Region);
        Assert.Equal(2.5, options.StsRate);
        Assert.Equal(5, options.StsBurst);
        Assert.Equal(TimeSpan.FromMinutes(150), options.SessionDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.WaitTimeout);
        Assert.Equal(LogFormat.Text, options.LogFormat);
        Assert.Equal(Serilog.Events.LogEventLevel.Debug, options.LogLevel);
    }

    [Fact]
    public void TokenVerifierBoundsAreFlagsWithTheDocumentedDefaults()
    {
        var defaults = Parse([]).Options!;
        Assert.Equal(50, defaults.TokenReviewRate);
        Assert.Equal(100, defaults.TokenReviewBurst);
        Assert.Equal(20_000, defaults.TokenCacheSize);

        var options = Parse(["--token-review-rate", "12.5", "--token-review-burst=7", "--token-cache-size", "500"]).Options!;
        Assert.Equal(12.5, options.TokenReviewRate);
        Assert.Equal(7, options.TokenReviewBurst);
        Assert.Equal(500, options.TokenCacheSize);
        foreach (var flag in new[] { "--token-review-rate", "--token-review-burst", "--token-cache-size" })
        {
            Assert.Contains(flag, CommandLine.Usage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheValidatingWebhookConfigurationDefaultsToTheManifestsNameAndAnEmptyValueMeansNone()
    {
        Assert.Equal("iam4kube-validating", Parse([]).Options!.ValidatingWebhookConfiguration);
        Assert.Equal("mine", Parse(["--validating-webhook-configuration", "mine"]).Options!.ValidatingWebhookConfiguration);
        Assert.Equal("", Parse(["--validating-webhook-configuration="]).Options!.ValidatingWebhookConfiguration);
        Assert.Contains("--validating-webhook-configuration", CommandLine.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public void ConnectionAndParkedLimitsDefaultToWhatFitsTheShippedMemoryLimit()
    {
        var defaults = Parse([]).Options!;
        Assert.Equal(1_000, defaults.MaxParkedRequests);
        Assert.Equal(2_000, defaults.MaxConnections);
        Assert.Equal(100, defaults.MaxConnectionsPerSource);

        var options = Parse(["--max-connections", "50", "--max-connections-per-source=5"]).Options!;
        Assert.Equal(50, options.MaxConnections);
        Assert.Equal(5, options.MaxConnectionsPerSource);
    }

    [Fact]
    public void HonoursAwsEnvironmentVariablesWhenFlagsAreAbsent()
    {
        var environment = new Dictionary<string, string> { ["AWS_REGION"] = "ap-south-1", ["AWS_ENDPOINT_URL_STS"] = "https://sts.example:443" };
        var options = Parse([], environment).Options!;
        Assert.Equal("ap-south-1", options.Region);
        Assert.Equal("https://sts.example:443", options.StsEndpoint);

        Assert.Equal("us-west-2", Parse(["--region", "us-west-2"], environment).Options!.Region);
    }

    [Theory]
    [InlineData("--sts-rate", "fast", "--sts-rate 'fast': expected a number")]
    [InlineData("--sts-rate", "0", "--sts-rate must be between 0.01 and 1000000")]
    [InlineData("--sts-burst", "-1", "--sts-burst '-1': expected a whole number")]
    [InlineData("--session-duration", "5m", "--session-duration must be between 15m and 12h")]
    [InlineData("--session-duration", "13h", "--session-duration must be between 15m and 12h")]
    [InlineData("--max-parked", "0", "--max-parked must be between 1 and 1000000")]
    [InlineData("--max-connections", "0", "--max-connections must be between 1 and 1000000")]
    [InlineData("--max-connections-per-source", "0", "--max-connections-per-source must be between 1 and 1000000")]
    [InlineData("--wait-timeout", "6m", "--wait-timeout must be between 0s and 5m")]
    [InlineData("--token-review-rate", "0", "--token-review-rate must be between 0.1 and 100000")]
    [InlineData("--token-review-rate", "many", "--token-review-rate 'many': expected a number")]
    [InlineData("--token-review-burst", "0", "--token-review-burst must be between 1 and 100000")]
    [InlineData("--token-review-burst", "1.5", "--token-review-burst '1.5': expected a whole number")]
    [InlineData("--token-cache-size", "0", "--token-cache-size must be between 1 and 10000000")]
    [InlineData("--token-cache-size", "10000001", "--token-cache-size must be between 1 and 10000000")]
    [InlineData("--session-duration", "1 hour", "expected a duration")]
    [InlineData("--wait-timeout", "1d", "units are h, m, s and ms")]
    [InlineData("--listen", "8080", "expected ADDRESS:PORT")]
    [InlineData("--log-format", "xml", "--log-format 'xml': expected json or text")]
    [InlineData("--audit-log", "yes", "--audit-log 'yes': expected on or off")]
    [InlineData("--log-level", "loud", "--log-level 'loud': expected trace, debug, info, warn or error")]
    [InlineData("--region", "Europe", "not an AWS region")]
    [InlineData("--sts-endpoint", "sts.amazonaws.com", "not an http(s) URL")]
    [InlineData("--kubeconfig", "/no/such/file", "no such file")]
    [InlineData("--bogus", "1", "unknown flag --bogus")]
    [InlineData("--imds-tokens", "v2", "--imds-tokens 'v2': expected optional or required")]
    [InlineData("--ready-wait-for-roles", "2h", "--ready-wait-for-roles must be between 0s and 1h")]
    public void RefusesInvalidValuesWithAClearMessage(string flag, string value, string expected)
    {
        var result = Parse([flag, value]);
        Assert.Null(result.Options);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void RefusesAFlagWithoutValue()
    {
        Assert.Contains("--region needs a value", Parse(["--region"]).Errors);
    }

    [Fact]
    public void AnUnknownFlagDoesNotSwallowTheFlagAfterIt()
    {
        // Were --region taken as the value of --bogus, eu-west-1 would be an unexpected argument.
        Assert.Equal(["unknown flag --bogus"], Parse(["--bogus", "--region", "eu-west-1"]).Errors);
        Assert.Equal(["unknown flag --bogus"], Parse(["--bogus"]).Errors);
    }

    [Theory]
    [InlineData("AWS_REGION")]
    [InlineData("AWS_DEFAULT_REGION")]
    public void ARegionFromTheEnvironmentIsRefusedNamingTheVariable(string variable)
    {
        var errors = Parse([], new Dictionary<string, string> { [variable] = "Europe" }).Errors;

        Assert.Equal([$"{variable} 'Europe' is not an AWS region name (like eu-west-1)"], errors);
    }

    [Fact]
    public void TheProductionOverlaysRegionPlaceholderIsRefusedUntilReplaced()
    {
        var errors = Parse([], new Dictionary<string, string> { ["AWS_REGION"] = Iam4KubeOptionsValidator.RegionPlaceholder }).Errors;

        Assert.Equal(["AWS_REGION is still REPLACE_WITH_AWS_REGION: set the cluster's AWS region (deploy/overlays/production: AWS_REGION in configMapGenerator)"], errors);
    }

    [Theory]
    [InlineData("warn")]
    [InlineData("warning")]
    [InlineData("WARN")]
    public void AcceptsTheSharedLogLevelNames(string level)
    {
        Assert.Equal(Serilog.Events.LogEventLevel.Warning, Parse(["--log-level", level]).Options!.LogLevel);
    }

    [Fact]
    public void LocalModeHasNoShutdownDelayUnlessOneIsGiven()
    {
        // Nothing takes a local process out of rotation: Ctrl-C should not wait 5 s for it.
        var clusterFile = Checkout.Combine("deploy", "examples", "local-cluster.yaml");

        Assert.Equal(TimeSpan.Zero, Parse(["--cluster-file", clusterFile]).Options!.ShutdownDelay);
        Assert.Equal(TimeSpan.FromSeconds(3), Parse(["--cluster-file", clusterFile, "--shutdown-delay", "3s"]).Options!.ShutdownDelay);
        Assert.Equal(TimeSpan.FromSeconds(3), Parse(["--shutdown-delay", "3s", "--cluster-file", clusterFile]).Options!.ShutdownDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), Parse([]).Options!.ShutdownDelay);
    }

    [Fact]
    public void VersionIsRecognised()
    {
        Assert.True(Parse(["--version"]).ShowVersion);
    }

    [Fact]
    public void RefusesTheSamePortForBothListeners()
    {
        Assert.Contains(Parse(["--listen", "0.0.0.0:7000", "--admin-listen", "0.0.0.0:7000"]).Errors, e => e.Contains("different ports", StringComparison.Ordinal));
    }

    [Fact]
    public void HelpIsRecognised()
    {
        Assert.True(Parse(["--help"]).ShowHelp);
        Assert.True(Parse(["-h"]).ShowHelp);
        Assert.Contains("--sts-burst", CommandLine.Usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1h", 3600)]
    [InlineData("15m", 900)]
    [InlineData("1h30m", 5400)]
    [InlineData("90s", 90)]
    [InlineData("0", 0)]
    [InlineData("1.5h", 5400)]
    public void ParsesGoStyleDurations(string text, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Durations.Parse(text));
    }

    [Fact]
    public void GuardrailsAreOffByDefault()
    {
        var options = Parse([]).Options!;

        Assert.False(options.NamespaceRestrictions);
        Assert.Empty(options.AllowedRoles);
    }

    [Fact]
    public void AllowedRolesAreCommaSeparatedAndRepeatable()
    {
        var options = Parse(["--namespace-restrictions", "--allowed-roles", "arn:aws:iam::111122223333:role/*, reader", "--allowed-roles=team/*"]).Options!;

        Assert.True(options.NamespaceRestrictions);
        Assert.Equal(["arn:aws:iam::111122223333:role/*", "reader", "team/*"], options.AllowedRoles);
    }

    [Theory]
    [InlineData("--allowed-roles=", "--allowed-roles '': expected one or more comma-separated values")]
    [InlineData("--namespace-restrictions=maybe", "--namespace-restrictions takes no value, or =true or =false")]
    public void GuardrailFlagsRefuseBadValues(string arg, string error)
    {
        Assert.Contains(error, Parse([arg]).Errors);
    }

    [Fact]
    public void NamespaceRestrictionsNeedAnApiServer()
    {
        var file = Path.GetTempFileName();
        try
        {
            Assert.Contains("--namespace-restrictions needs Namespaces from an API server; local mode (--cluster-file) has none",
                Parse(["--namespace-restrictions", "--cluster-file", file]).Errors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void CompatibilityModeIsOffByDefaultAndTakesABaseAndADefaultRole()
    {
        Assert.False(Parse([]).Options!.PodAnnotations);

        var options = Parse(["--pod-annotations", "--base-role-arn", "arn:aws:iam::123456789012:role/k8s", "--default-role=fallback"]).Options!;

        Assert.True(options.PodAnnotations);
        Assert.Equal("arn:aws:iam::123456789012:role/k8s", options.BaseRoleArn);
        Assert.Equal("fallback", options.DefaultRole);
        Assert.Equal("arn:aws:iam::123456789012:role/k8s/fallback", global::Iam4Kube.Policy.PodRoleSettings.From(options)!.DefaultRole!.Value);
    }

    [Theory]
    [InlineData(new[] { "--pod-annotations", "--base-role-arn", "arn:aws:iam::123456789012:user/" },
        "--base-role-arn 'arn:aws:iam::123456789012:user/': expected arn:PARTITION:iam::ACCOUNT_ID:role/ or arn:PARTITION:iam::ACCOUNT_ID:role/PATH/ (the ARN names 'user', not a role)")]
    [InlineData(new[] { "--pod-annotations", "--base-role-arn", "123456789012" },
        "--base-role-arn '123456789012': expected arn:PARTITION:iam::ACCOUNT_ID:role/ or arn:PARTITION:iam::ACCOUNT_ID:role/PATH/ (not an ARN: expected arn:PARTITION:iam::ACCOUNT_ID:role/NAME)")]
    [InlineData(new[] { "--default-role", "arn:aws:iam::123456789012:role/x" },
        "--default-role requires --pod-annotations (it is the role of pods that name none, as kube2iam's --default-role)")]
    [InlineData(new[] { "--base-role-arn", "arn:aws:iam::123456789012:role/" },
        "--base-role-arn applies only with --pod-annotations (it resolves role names in pods' iam.amazonaws.com/role)")]
    [InlineData(new[] { "--pod-annotations", "--default-role", "fallback" },
        "--default-role 'fallback': 'fallback' is a role name, not an ARN, and iam4kube has no --base-role-arn to resolve it under: write the full role ARN, or set --base-role-arn")]
    [InlineData(new[] { "--pod-annotations", "--base-role-arn", "arn:aws:iam::123456789012:role/", "--default-role", "bad name" },
        "--default-role 'bad name': 'bad name' under --base-role-arn arn:aws:iam::123456789012:role/ is not a valid role: the role ARN contains white space")]
    [InlineData(new[] { "--pod-annotations=maybe" }, "--pod-annotations takes no value, or =true or =false")]
    public void CompatibilityFlagsRefuseWhatCannotWork(string[] args, string error)
    {
        Assert.Contains(error, Parse(args).Errors);
    }
}
