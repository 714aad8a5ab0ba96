using System.Globalization;
using System.Text;

namespace Iam4Kube.Explain;

/// <summary>The text form of an <see cref="Explanation"/>: one step a line, for a person at a terminal.</summary>
internal static class ExplanationText
{
    public static string Render(Explanation e)
    {
        var text = new StringBuilder();
        Line(text, "query", e.Query);
        if (e.Pod is { } pod)
        {
            var ips = pod.Ips.Count > 0 ? string.Join(", ", pod.Ips) : $"none ({pod.NoIp})";
            Line(text, "pod", $"{pod.Namespace}/{pod.Name} (uid {pod.Uid}, node {pod.Node ?? "not scheduled"}, IPs {ips})");
        }
        else
        {
            Line(text, "pod", $"none: {e.NoPod}");
            foreach (var claimant in e.Claimants ?? [])
            {
                Line(text, "", $"claimed by {claimant}");
            }
        }

        if (e.ServiceAccount is { } sa)
        {
            Line(text, "serviceaccount", $"{sa.Namespace}/{sa.Name}{(sa.Known ? "" : " (not known to iam4kube)")}");
            if (sa.Known)
            {
                Line(text, "annotations", $"{Roles.RoleAnnotations.RoleArnKey}: {sa.RoleArnAnnotation ?? "(not set)"}");
                Line(text, "", $"{Roles.RoleAnnotations.ExternalIdKey}: {(sa.ExternalIdAnnotationSet ? "(set)" : "(not set)")}");
            }
        }

        if (e.Policy is { } policy)
        {
            Line(text, "policy", policy.RoleArn is { } arn
                ? $"role {arn} as session {policy.SessionName}{(policy.ExternalId ? " with an external id" : "")}"
                : $"{policy.Outcome}: {policy.Detail}");
        }

        if (e.Credentials is { } c)
        {
            Line(text, "credentials", c.State);
            if (c.AccessKeyId is not null)
            {
                Line(text, "", $"access key {c.AccessKeyId}, expires {Time(c.Expiration)}, servable now: {(c.Servable ? "yes" : "no")}");
            }

            Line(text, "", $"next refresh {Time(c.NextRefresh)}, last STS answer {Time(c.LastStsAnswer)}");
            if (c.LastErrorCode is not null)
            {
                Line(text, "", $"last error {c.LastErrorCode}{(c.LastErrorPermanent == true ? " (permanent)" : "")}: {c.LastErrorMessage}");
            }
        }

        var answer = e.Answer;
        Line(text, "metadata API", $"{answer.Status} {answer.Outcome}{(answer.FromIp is { } ip ? $" to a request from {ip}" : "")}"
            + (answer.Detail is { } detail ? $": {detail}" : ""));
        return text.ToString();
    }

    private static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "unknown";

    private static void Line(StringBuilder text, string label, string value) =>
        text.Append(CultureInfo.InvariantCulture, $"{label,-15} {value}\n");
}
