using System.Text.Json;
using Iam4Kube.Outcomes;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Outcomes;

/// <summary>The audit log in the running host: served and refused credentials answers, folded repeats, no secret.</summary>
public sealed class AuditLogHostTests
{
    private const string AppIp = "127.0.31.1";
    private const string PlainIp = "127.0.31.2";

    private static async Task<Iam4KubeTestHost> StartAsync(bool audit)
    {
        var host = await Iam4KubeTestHost.StartAsync(startApp: false);
        host.Api.Create(KubeObjects.Node("node-1", "eu-central-1", "eu-central-1b"));
        host.Api.Create(KubeObjects.ServiceAccount("team", "app", KubeObjects.RoleArn("app-role")));
        host.Api.Create(KubeObjects.ServiceAccount("team", "plain"));
        host.Api.Create(KubeObjects.Pod("team", "app-1", AppIp, "app", uid: "uid-app-1"));
        host.Api.Create(KubeObjects.Pod("team", "plain-1", PlainIp, "plain", uid: "uid-plain-1"));
        await host.StartAppAsync(o => o with { AuditLog = audit, LogLevel = Serilog.Events.LogEventLevel.Information });
        await host.WaitUntilReadyAsync();
        return host;
    }

    private static List<JsonElement> AuditLines(Iam4KubeTestHost host) =>
        [.. host.LogText.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .Where(e => e.TryGetProperty("@m", out var m) && m.GetString()!.StartsWith("Audit:", StringComparison.Ordinal))];

    [Fact]
    public async Task ServedAndRefusedAnswersAreLoggedOnceEachWithTheirFieldsAndNoSecret()
    {
        await using var host = await StartAsync(audit: true);
        using var app = host.ClientFrom(AppIp);
        using var plain = host.ClientFrom(PlainIp);
        string body = "";
        for (var i = 0; i < 5; i++)
        {
            body = await app.GetStringAsync("/latest/meta-data/iam/security-credentials/app-role");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await plain.GetAsync("/latest/meta-data/iam/security-credentials/app-role")).StatusCode);
        }

        using var forged = new HttpRequestMessage(HttpMethod.Get, "/latest/meta-data/iam/security-credentials/app-role");
        forged.Headers.Add("X-aws-ec2-metadata-token", "forged");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await app.SendAsync(forged)).StatusCode);

        var accessKeyId = JsonDocument.Parse(body).RootElement.GetProperty("AccessKeyId").GetString()!;
        var lines = AuditLines(host);
        Assert.Equal(3, lines.Count);
        var rejected = Assert.Single(lines, l => l.GetProperty("Outcome").GetString() == "token_rejected");
        Assert.Equal(AppIp, rejected.GetProperty("SourceIp").GetString());
        Assert.Equal("", rejected.GetProperty("Pod").GetString());

        var served = Assert.Single(lines, l => l.GetProperty("Outcome").GetString() == "credentials");
        Assert.Equal("team/app-1", served.GetProperty("Pod").GetString());
        Assert.Equal("uid-app-1", served.GetProperty("PodUid").GetString());
        Assert.Equal("app", served.GetProperty("ServiceAccount").GetString());
        Assert.Equal(KubeObjects.RoleArn("app-role"), served.GetProperty("RoleArn").GetString());
        Assert.Equal("team@app", served.GetProperty("SessionName").GetString());
        Assert.Equal(accessKeyId, served.GetProperty("AccessKeyId").GetString());
        Assert.Equal("metadata", served.GetProperty("Door").GetString());
        Assert.Equal(200, served.GetProperty("Status").GetInt32());
        Assert.True(served.GetProperty("WaitMs").GetDouble() >= 0);
        Assert.False(served.TryGetProperty("@l", out _)); // compact JSON leaves the level out for Information

        var refused = Assert.Single(lines, l => l.GetProperty("Outcome").GetString() == "no_role");
        Assert.Equal("team/plain-1", refused.GetProperty("Pod").GetString());
        Assert.Equal("", refused.GetProperty("AccessKeyId").GetString());
        Assert.Equal(404, refused.GetProperty("Status").GetInt32());

        // The four repeats of each are reported when the audit log is disposed at shutdown (the window is still open).
        var issued = host.Sts.Issued[accessKeyId];
        host.Service<AuditLog>().Dispose();
        var repeats = AuditLines(host).Where(l => l.GetProperty("@m").GetString()!.Contains("more identical", StringComparison.Ordinal)).ToList();
        Assert.Equal([4, 4], repeats.Select(r => r.GetProperty("Repeats").GetInt32()));

        var log = host.LogText;
        Assert.Contains(accessKeyId, log, StringComparison.Ordinal);
        Assert.DoesNotContain(issued.SecretAccessKey, log, StringComparison.Ordinal);
        Assert.DoesNotContain(issued.SessionToken, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditLogOffWritesNoAuditLine()
    {
        await using var host = await StartAsync(audit: false);
        using var app = host.ClientFrom(AppIp);
        await app.GetStringAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Empty(AuditLines(host));
    }
}
