using System.Net;
using Iam4Kube.Observability;
using Iam4Kube.Stores;
using Microsoft.Extensions.Time.Testing;

namespace Iam4Kube.Tests.Observability;

/// <summary>Local mode's pod "events" are deduplicated as the cluster's Events are: one line per pod and reason per window.</summary>
public sealed class LoggedPodEventsTests
{
    private static readonly PodInfo Pod = new(new NamespacedName("reports", "writer-1"), "uid-1", "writer", null, [IPAddress.Loopback]);
    private static readonly PodInfo OtherPod = new(new NamespacedName("reports", "writer-2"), "uid-2", "writer", null, [IPAddress.Parse("127.0.0.2")]);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly LinesLogger _log = new();

    [Fact]
    public void AnSdkPollingInALoopGetsOneLinePerPodAndReasonPerWindowNotOnePerRequest()
    {
        var events = new LoggedPodEvents(_time, _log);

        for (var i = 0; i < 100; i++)
        {
            events.Record(Pod, PodEventReason.IamRoleFound, "found");
            events.Record(Pod, PodEventReason.IamCredentialsServed, "served");
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        events.Record(OtherPod, PodEventReason.IamRoleFound, "found");

        Assert.Equal(
            [
                "Information Pod reports/writer-1: IamRoleFound: found",
                "Information Pod reports/writer-1: IamCredentialsServed: served",
                "Information Pod reports/writer-2: IamRoleFound: found",
            ],
            _log.Lines);
    }

    [Fact]
    public void AfterTheWindowTheNextLineSaysHowManyWereFoldedIntoIt()
    {
        var events = new LoggedPodEvents(_time, _log);
        events.Record(Pod, PodEventReason.IamRoleMissing, "no role");
        events.Record(Pod, PodEventReason.IamRoleMissing, "no role");
        events.Record(Pod, PodEventReason.IamRoleMissing, "no role");

        _time.Advance(KubernetesPodEvents.Window);
        events.Record(Pod, PodEventReason.IamRoleMissing, "no role");

        Assert.Equal(
            [
                "Warning Pod reports/writer-1: IamRoleMissing: no role",
                "Warning Pod reports/writer-1: IamRoleMissing: no role (and 2 more in the last 10 minutes)",
            ],
            _log.Lines);
    }

    private sealed class LinesLogger : ILogger<LoggedPodEvents>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add($"{logLevel} {formatter(state, exception)}");
    }
}
