using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// Hostile or mistaken ServiceAccount annotations: each gives the pod a Warning Event and a metric, the client a 404
/// that says what is wrong, and never reaches STS.
/// </summary>
public sealed partial class InvalidAnnotationTests(InvalidAnnotationTests.Cluster cluster) : IClassFixture<InvalidAnnotationTests.Cluster>
{
    private const string Account = "123456789012";
    private static int _nextIp;

    public static TheoryData<string, string?, string?> Annotations => new()
    {
        { "not-an-arn", "not-an-arn", null },
        { "empty", "", null },
        { "a-user", $"arn:aws:iam::{Account}:user/bob", null },
        { "a-policy", $"arn:aws:iam::{Account}:policy/admin", null },
        { "wrong-service", $"arn:aws:sts::{Account}:role/x", null },
        { "s3-bucket", "arn:aws:s3:::bucket/role/x", null },
        { "unknown-partition", $"arn:evil:iam::{Account}:role/x", null },
        { "with-region", $"arn:aws:iam:us-east-1:{Account}:role/x", null },
        { "short-account", "arn:aws:iam::12345:role/x", null },
        { "letters-in-account", "arn:aws:iam::12345678901x:role/x", null },
        { "leading-space", $" arn:aws:iam::{Account}:role/x", null },
        { "trailing-newline", $"arn:aws:iam::{Account}:role/x\n", null },
        { "tab-inside", $"arn:aws:iam::{Account}:role/x\ty", null },
        { "bad-role-name", $"arn:aws:iam::{Account}:role/x!y", null },
        { "empty-role-name", $"arn:aws:iam::{Account}:role/", null },
        { "long-role-name", $"arn:aws:iam::{Account}:role/" + new string('r', 65), null },
        { "two-kb-value", $"arn:aws:iam::{Account}:role/" + new string('a', 2048), null },
        { "two-kb-path", $"arn:aws:iam::{Account}:role/" + string.Concat(Enumerable.Repeat("p/", 600)) + "x", null },
        { "two-kb-account", "arn:aws:iam::" + new string('1', 2000) + ":role/x", null },
        { "two-kb-partition", "arn:" + new string('a', 2000) + ":iam::123456789012:role/x", null },
        { "two-kb-service", "arn:aws:" + new string('s', 2000) + "::123456789012:role/x", null },
        { "non-ascii-name", $"arn:aws:iam::{Account}:role/r\u00f4le", null },
        { "external-id-too-short", $"arn:aws:iam::{Account}:role/ext", "a" },
        { "external-id-spaces", $"arn:aws:iam::{Account}:role/ext", "my external id" },
        { "external-id-two-kb", $"arn:aws:iam::{Account}:role/ext", new string('e', 2048) },
        { "external-id-non-ascii", $"arn:aws:iam::{Account}:role/ext", "caf\u00e9-id" },
        { "external-id-without-role", null, "some-external-id" },
    };

    [Theory]
    [MemberData(nameof(Annotations))]
    public async Task InvalidAnnotationsGiveAWarningEventAMetricAnd404WithoutCallingSts(string name, string? roleArn, string? externalId)
    {
        var host = cluster.Host;
        var ip = $"127.0.42.{Interlocked.Increment(ref _nextIp)}";
        var sa = KubeObjects.ServiceAccount("hostile", name, roleArn: null, externalId);
        if (roleArn is not null)
        {
            sa.Metadata.Annotations ??= new Dictionary<string, string>();
            sa.Metadata.Annotations[KubeObjects.RoleArnAnnotation] = roleArn;
        }

        host.Api.Create(sa);
        host.Api.Create(KubeObjects.Pod("hostile", $"{name}-pod", ip, name));
        var before = await InvalidRoleCountAsync();

        using var client = host.ClientFrom(ip);
        var listing = await client.GetAsync("/latest/meta-data/iam/security-credentials/");
        Assert.Equal(HttpStatusCode.NotFound, listing.StatusCode);
        var reason = await listing.Content.ReadAsStringAsync();
        Assert.Contains("annotation iam.amazonaws.com/", reason, StringComparison.Ordinal);
        Assert.True(reason.Length < 400, $"the reason repeats the whole hostile value: {reason.Length} characters");

        var credentials = await client.GetAsync("/latest/meta-data/iam/security-credentials/x");
        Assert.Equal(HttpStatusCode.NotFound, credentials.StatusCode);
        Assert.DoesNotContain("SecretAccessKey", await credentials.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.True(await InvalidRoleCountAsync() >= before + 2, "iam4kube_request_outcomes_total{outcome=\"invalid_role\"} did not count both requests");
        await Eventually.TrueAsync(
            () => host.Api.Events.Any(e => e.Reason == "IamRoleInvalid" && e.Type == "Warning" && e.InvolvedObject.Name == $"{name}-pod" && e.InvolvedObject.NamespaceProperty == "hostile"),
            TimeSpan.FromSeconds(10), $"no IamRoleInvalid Warning Event on pod hostile/{name}-pod");
        Assert.DoesNotContain(host.Sts.Calls, c => c.RoleSessionName == $"hostile@{name}");
        Assert.Equal(HttpStatusCode.OK, (await host.AdminClient().GetAsync("/readyz")).StatusCode);
    }

    private async Task<double> InvalidRoleCountAsync()
    {
        using var admin = cluster.Host.AdminClient();
        var metrics = await admin.GetStringAsync("/metrics");
        var match = InvalidRoleMetric().Match(metrics);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex("^iam4kube_request_outcomes_total\\{outcome=\"invalid_role\"\\} (\\S+)$", RegexOptions.Multiline)]
    private static partial Regex InvalidRoleMetric();

    public sealed class Cluster : IAsyncLifetime
    {
        internal Iam4KubeTestHost Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Host = await Iam4KubeTestHost.StartAsync(startApp: false);
            Host.Api.Create(KubeObjects.Node("node-1"));
            await Host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(2) });
            await Host.WaitUntilReadyAsync();
        }

        public async Task DisposeAsync() => await Host.DisposeAsync();
    }
}
