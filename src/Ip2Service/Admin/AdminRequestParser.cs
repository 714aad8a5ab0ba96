using System.Text;

namespace Ip2Service.Admin;

/// <summary>
/// Reads one HTTP/1.x request head (request line and header fields, RFC 9112) as the admin server needs it. Strict
/// where leniency has been a smuggling or confusion vector (obsolete line folding, whitespace before the colon,
/// conflicting Content-Length, a missing Host in HTTP/1.1: each a 400, as Kestrel answers), ignoring every header it
/// has no use for.
/// </summary>
internal static class AdminRequestParser
{
    /// <param name="head">The bytes up to and including the empty line.</param>
    public static AdminRequest Parse(ReadOnlySpan<byte> head)
    {
        // Header bytes outside ASCII are opaque (RFC 9110 5.5); Latin-1 keeps them one char each.
        var lines = Encoding.Latin1.GetString(head).Split("\r\n");
        var first = 0;
        while (first < lines.Length && lines[first].Length == 0)
        {
            // RFC 9112 2.2: empty lines before the request line are ignored.
            first++;
        }
        var requestLine = first < lines.Length ? lines[first].Split(' ') : [];
        if (requestLine.Length != 3 || !IsToken(requestLine[0]) || !requestLine[1].StartsWith('/'))
        {
            return Malformed("malformed request line");
        }
        var (method, target, version) = (requestLine[0], requestLine[1], requestLine[2]);
        if (version is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            return version.StartsWith("HTTP/", StringComparison.Ordinal) && version.Length == 8
                ? Malformed($"version {version}", 505)
                : Malformed("malformed request line");
        }

        var hosts = 0;
        long? contentLength = null;
        var chunked = false;
        var close = false;
        var accept = new List<string>();
        foreach (var line in lines.AsSpan(first + 1))
        {
            if (line.Length == 0)
            {
                continue;
            }
            var colon = line.IndexOf(':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                // Also obsolete line folding (a line starting with white space) and "Name :" (RFC 9112 5.1).
                return Malformed("malformed header field");
            }
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                hosts++;
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
                    || (contentLength is { } earlier && earlier != length))
                {
                    return Malformed("invalid Content-Length");
                }
                contentLength = length;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = true;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                close |= value.Split(',').Any(token => token.Trim().Equals("close", StringComparison.OrdinalIgnoreCase));
            }
            else if (name.Equals("Accept", StringComparison.OrdinalIgnoreCase))
            {
                accept.Add(value);
            }
        }
        if (version == "HTTP/1.1" && hosts != 1)
        {
            return Malformed(hosts == 0 ? "no Host header" : "more than one Host header");
        }
        var query = target.IndexOf('?');
        return new AdminRequest(
            method,
            query < 0 ? target : target[..query],
            query < 0 ? "" : target[(query + 1)..],
            string.Join(",", accept),
            KeepAlive: version == "HTTP/1.1" && !close,
            HasBody: chunked || contentLength > 0);
    }

    private static AdminRequest Malformed(string reason, int status = 400) =>
        new("", "", "", "", KeepAlive: false, HasBody: false, new AdminProblem(status, reason));

    /// <summary>RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&amp;" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.</summary>
    private static bool IsToken(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c));
}
