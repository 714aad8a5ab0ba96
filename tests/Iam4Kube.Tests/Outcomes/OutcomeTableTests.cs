using System.Text.RegularExpressions;
using Iam4Kube.Outcomes;
using Iam4Kube.Testing;

namespace Iam4Kube.Tests.Outcomes;

/// <summary>The one table of outcomes: consistent with itself and with what docs/metrics.md promises.</summary>
public sealed partial class OutcomeTableTests
{
    [Fact]
    public void EveryOutcomeHasItsOwnMetricLabel()
    {
        var labels = Outcome.All.Select(o => o.Label).ToList();
        Assert.Equal(labels.Count, labels.Distinct(StringComparer.Ordinal).Count());
        Assert.All(labels, label => Assert.Matches("^[a-z_]+$", label));
    }

    [Fact]
    public void OnlyServiceUnavailableAnswersInviteARetry()
    {
        Assert.All(Outcome.All, o => Assert.Equal(o.ImdsStatus == 503, o.IsRetryable));
        Assert.True(Outcome.CredentialsUnavailable.IsRetryable);
        Assert.True(Outcome.ShuttingDown.IsRetryable);
    }

    [Fact]
    public void OnTheTokenDoorServiceUnavailableAndTooManyRequestsInviteARetry()
    {
        Assert.All(Outcome.All, o => Assert.Equal(o.TokenStatus is 503 or 429, o.IsRetryableOnTokenDoor));
        Assert.Equal(429, Outcome.TokenReviewOverloaded.TokenStatus);
        Assert.Equal(401, Outcome.TokenExpired.TokenStatus);
        Assert.Equal(403, Outcome.HostNotAllowed.TokenStatus);
    }

    [Fact]
    public void WhatMoreWaitingCouldChangeIsNotFinal()
    {
        Assert.Equal(
            ["pod_unknown", "pod_ambiguous", "serviceaccount_unknown", "node_unknown", "credentials_unavailable", "namespace_unknown"],
            Outcome.All.Where(o => !o.IsFinal).Select(o => o.Label));
    }

    [Fact]
    public void EveryLabelADoorCountsIsDocumentedInTheMetricsPage()
    {
        var metricsPage = File.ReadAllText(Path.Combine(Checkout.Root, "docs", "metrics.md"));
        var line = metricsPage.Split('\n').Single(l => l.Contains("`iam4kube_request_outcomes_total`", StringComparison.Ordinal));
        var documented = BacktickedWord().Matches(line).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.All(Outcome.All.Where(o => o != Outcome.Resolved), o => Assert.Contains(o.Label, documented));
    }

    [GeneratedRegex("`([a-z_]+)`")]
    private static partial Regex BacktickedWord();
}
