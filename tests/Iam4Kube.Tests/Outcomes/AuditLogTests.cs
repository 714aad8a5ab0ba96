using System.Net;
using Iam4Kube.Outcomes;
using Iam4Kube.Roles;
using Iam4Kube.Stores;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.Outcomes;

/// <summary>The audit log: one line per credentials answer, identical answers folded per window with their count.</summary>
public sealed class AuditLogTests
{
    private static readonly IPAddress PodIp = IPAddress.Parse("10.1.2.3");
    private static readonly PodInfo Pod = new(new NamespacedName("shop", "api-1"), "uid-api-1", "api", "node-1", [PodIp]);
    private static readonly IamRole Role = new(RoleArnOf("arn:aws:iam::123456789012:role/shop-api"), null, "shop@api");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly CapturingLogger _log = new();

    private static RoleArn RoleArnOf(string text) => RoleArn.TryParse(text, out var arn, out _) ? arn : throw new ArgumentException(text);

    private AuditLog Audit(bool enabled = true) => new(enabled, _time, _log);

    private static void Served(AuditLog audit, string accessKeyId = "ASIAFIRSTKEY00000000") =>
        audit.Record("metadata", Outcome.CredentialsServed, 200, PodIp, Pod, Role, accessKeyId, TimeSpan.FromMilliseconds(2.5));

    [Fact]
    public void TheFirstAnswerIsLoggedAtOnceWithWhatJoinsItToCloudTrailAndKubernetes()
    {
        using var audit = Audit();
        Served(audit);

        var line = Assert.Single(_log.Lines);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal("credentials", line.Properties["Outcome"]);
        Assert.Equal("metadata", line.Properties["Door"]);
        Assert.Equal("shop/api-1", line.Properties["Pod"]);
        Assert.Equal("uid-api-1", line.Properties["PodUid"]);
        Assert.Equal("api", line.Properties["ServiceAccount"]);
        Assert.Equal("arn:aws:iam::123456789012:role/shop-api", line.Properties["RoleArn"]);
        Assert.Equal("shop@api", line.Properties["SessionName"]);
        Assert.Equal("ASIAFIRSTKEY00000000", line.Properties["AccessKeyId"]);
        Assert.Equal(200, line.Properties["Status"]);
        Assert.Equal(2.5, line.Properties["WaitMs"]);
        Assert.Equal(0, line.Properties["Repeats"]);
    }

    [Fact]
    public void RepeatsWithinTheWindowAreCountedAndReportedWhenTheWindowCloses()
    {
        using var audit = Audit();
        for (var i = 0; i < 10; i++)
        {
            Served(audit);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Single(_log.Lines);

        _time.Advance(AuditLog.Window);

        Assert.Equal(2, _log.Lines.Count);
        var summary = _log.Lines[1];
        Assert.Equal(9, summary.Properties["Repeats"]);
        Assert.Equal("ASIAFIRSTKEY00000000", summary.Properties["AccessKeyId"]);
        Assert.Contains("9 more identical credentials answers", summary.Message, StringComparison.Ordinal);
        Assert.Equal(0, audit.PendingEntries);
    }

    [Fact]
    public void AnAnswerAfterItsWindowCarriesTheCountOfTheRepeatsFoldedBeforeIt()
    {
        using var audit = Audit();
        _time.Advance(TimeSpan.FromSeconds(30));
        Served(audit);
        Served(audit);
        Served(audit);
        _time.Advance(TimeSpan.FromSeconds(30)); // the sweeper runs at 60 s, when this window is 30 s old
        _time.Advance(TimeSpan.FromSeconds(35));

        Served(audit);

        Assert.Equal([0, 2], _log.Lines.Select(l => (int)l.Properties["Repeats"]!));
    }

    [Fact]
    public void ANewAccessKeyAnotherOutcomeOrAnotherPodIsLoggedAtOnce()
    {
        using var audit = Audit();
        Served(audit);
        Served(audit, "ASIASECONDKEY0000000");
        audit.Record("metadata", Outcome.CredentialsUnavailable, 503, PodIp, Pod, Role, null, TimeSpan.FromSeconds(15));
        audit.Record("metadata", Outcome.PodUnknown, 404, IPAddress.Parse("10.9.9.9"), null, null, null, TimeSpan.FromSeconds(15));
        audit.Record("metadata", Outcome.PodUnknown, 404, IPAddress.Parse("10.9.9.8"), null, null, null, TimeSpan.FromSeconds(15));
        audit.Record("metadata", Outcome.PodUnknown, 404, IPAddress.Parse("10.9.9.8"), null, null, null, TimeSpan.FromSeconds(15));

        Assert.Equal(
            ["credentials/ASIAFIRSTKEY00000000", "credentials/ASIASECONDKEY0000000", "credentials_unavailable/", "pod_unknown/", "pod_unknown/"],
            _log.Lines.Select(l => $"{l.Properties["Outcome"]}/{l.Properties["AccessKeyId"]}"));
        Assert.Equal("10.9.9.8", _log.Lines[4].Properties["SourceIp"]!.ToString());
    }

    [Fact]
    public void WhatWasCountedButNotReportedIsReportedAtShutdown()
    {
        var audit = Audit();
        Served(audit);
        Served(audit);

        audit.Dispose();

        Assert.Equal([0, 1], _log.Lines.Select(l => (int)l.Properties["Repeats"]!));
    }

    [Fact]
    public void TurnedOffItLogsNothing()
    {
        using var audit = Audit(enabled: false);
        Served(audit);
        _time.Advance(AuditLog.Window * 2);

        Assert.Empty(_log.Lines);
    }

    [Fact]
    public void ADeduplicatedRepeatAllocatesNothing()
    {
        using var audit = Audit();
        for (var i = 0; i < 100; i++)
        {
            Served(audit);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Served(audit);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    internal sealed record LogLine(LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Properties);

    private sealed class CapturingLogger : ILogger<AuditLog>
    {
        public List<LogLine> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = state is IReadOnlyList<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary(p => p.Key, p => p.Value) : [];
            Lines.Add(new LogLine(logLevel, formatter(state, exception), properties));
        }
    }
}
