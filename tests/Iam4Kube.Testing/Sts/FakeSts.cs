using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;

namespace Iam4Kube.Testing.Sts;

/// <summary>
/// AWS STS on WireMock.Net, speaking the Query protocol the AWS SDKs (AWSSDK.SecurityToken 4.x, botocore) use for
/// STS: a form POST (or GET query) <c>Action=AssumeRole&amp;Version=2011-06-15&amp;RoleArn=...&amp;RoleSessionName=...</c>
/// answered with STS's <c>AssumeRoleResponse</c> XML. Every successful call mints fresh, unique credentials and
/// remembers for which role and session (<see cref="Issued"/>), so a test can prove a pod got its own role.
/// Parameters are validated as STS does (session name characters and length, duration range, ARN shape).
/// </summary>
public sealed class FakeSts : IDisposable
{
    private const string UpperAlphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const string SecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<AssumeRoleCall> _calls = [];
    private readonly List<(int Count, TaskCompletionSource Done)> _callWaiters = [];
    private readonly Dictionary<string, StsFault> _roleFaults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _maxSessionDurations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StsIssuedCredentials> _issued = new(StringComparer.Ordinal);
    private readonly WireMockServer _server;
    private StsFault? _fault;
    private volatile bool _anyReset;
    private long _lifetimeTicks = -1;
    private long _clockOffsetTicks;

    private readonly ConcurrentDictionary<string, byte> _connections = new(StringComparer.Ordinal);
    private volatile bool _closeConnections;

    private FakeSts(TimeProvider timeProvider, TestCertificateAuthority? tls)
    {
        _time = timeProvider;
        _server = WireMockServer.Start(new WireMockServerSettings
        {
            Urls = [tls is null ? "http://127.0.0.1:0" : "https://127.0.0.1:0"],
            CertificateSettings = tls is null ? null : new WireMockCertificateSettings { X509Certificate = tls.ServerCertificate },
            StartAdminInterface = false,
            MaxRequestLogCount = 1000,
            PreWireMockMiddlewareInit = app => ((IApplicationBuilder)app).Use(ConnectionsAsync).Use(StsClockAsync).Use(ResetConnectionsAsync),
        });
        // Over TLS, by name (the certificate's localhost), as STS is reached (sts.REGION.amazonaws.com): a client
        // treats an address differently (no SNI, no TLS session resumption).
        Url = tls is null ? _server.Url! : $"https://localhost:{_server.Ports[0]}";
        _server
            .Given(Request.Create().UsingAnyMethod())
            .RespondWith(Response.Create().WithCallback(HandleAsync));
    }

    /// <summary>
    /// The endpoint to give the SDK (<c>ServiceURL</c>, <c>AWS_ENDPOINT_URL_STS</c>), e.g. <c>http://127.0.0.1:40001</c>,
    /// or <c>https://127.0.0.1:40001</c> when started with a certificate authority.
    /// </summary>
    public string Url { get; }

    /// <summary>
    /// When true, every answer says <c>Connection: close</c> and the connection is closed after it, so each call needs a
    /// new connection (and a new TLS handshake): the worst case. When false (the default), connections are kept alive,
    /// as real STS does.
    /// </summary>
    public bool CloseConnections
    {
        get => _closeConnections;
        set => _closeConnections = value;
    }

    /// <summary>How many distinct connections (TLS sessions, when served over TLS) have carried a request so far.</summary>
    public int ConnectionsAccepted => _connections.Count;

    /// <summary>The ARN the fake calls the caller by in AccessDenied messages.</summary>
    public string CallerArn { get; set; } = "arn:aws:sts::111122223333:assumed-role/iam4kube-node/i-0123456789abcdef0";

    /// <summary>When set, credentials expire this long after they are minted, whatever DurationSeconds asked for.</summary>
    public TimeSpan? CredentialLifetime
    {
        get => Interlocked.Read(ref _lifetimeTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;
        set => Interlocked.Exchange(ref _lifetimeTicks, value?.Ticks ?? -1);
    }

    /// <summary>
    /// STS's clock minus the callers' (a caller whose clock is 50 minutes fast sees -50 min): credentials expire and the
    /// <c>Date</c> header reads on STS's clock.
    /// </summary>
    public TimeSpan ClockOffset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _clockOffsetTicks));
        set => Interlocked.Exchange(ref _clockOffsetTicks, value.Ticks);
    }

    /// <summary>Every AssumeRole call received, in arrival order, failed ones included.</summary>
    public IReadOnlyList<AssumeRoleCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Every credential minted, by AccessKeyId.</summary>
    public IReadOnlyDictionary<string, StsIssuedCredentials> Issued => _issued;

    /// <param name="timeProvider">Clock for <c>Expiration</c>, call times and latency (default: system).</param>
    /// <param name="tls">When given, served over HTTPS with a server certificate this authority signed (default: plain HTTP).</param>
    public static FakeSts Start(TimeProvider? timeProvider = null, TestCertificateAuthority? tls = null) => new(timeProvider ?? TimeProvider.System, tls);

    /// <summary>
    /// From now on, AssumeRole calls for <paramref name="roleArn"/> (every role when null) get <paramref name="fault"/>.
    /// A fault for a role takes precedence over one for every role.
    /// </summary>
    public void FailWith(StsFault fault, string? roleArn = null)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_gate)
        {
            if (roleArn is null)
            {
                _fault = fault;
            }
            else
            {
                _roleFaults[roleArn] = fault;
            }

            _anyReset = _fault?.Kind == StsFaultKind.ConnectionReset
                || _roleFaults.Values.Any(f => f.Kind == StsFaultKind.ConnectionReset);
        }
    }

    /// <summary>The role's MaxSessionDuration (IAM's default is 3600 s; the fake allows STS's 43200 unless told).</summary>
    public void SetMaxSessionDuration(string roleArn, TimeSpan maximum) => _maxSessionDurations[roleArn] = (int)maximum.TotalSeconds;

    /// <summary>Removes every fault.</summary>
    public void Heal()
    {
        lock (_gate)
        {
            _fault = null;
            _roleFaults.Clear();
            _anyReset = false;
        }
    }

    /// <summary>Resolves once <paramref name="count"/> AssumeRole calls have arrived in total.</summary>
    public async Task WaitForCallsAsync(int count, TimeSpan timeout)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_calls.Count >= count)
            {
                return;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _callWaiters.Add((count, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                _callWaiters.RemoveAll(w => w.Done == done);
                throw new TimeoutException($"{count} AssumeRole call(s) did not arrive within {timeout}; {_calls.Count} did.");
            }
        }
    }

    public void Dispose() => _server.Dispose();

    private static Dictionary<string, string> Parameters(string? query, string? body)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in new[] { query, body })
        {
            if (string.IsNullOrEmpty(source))
            {
                continue;
            }

            foreach (var (name, value) in QueryHelpers.ParseQuery(source))
            {
                parameters[name] = value.ToString();
            }
        }

        return parameters;
    }

    private static ResponseMessage Xml(System.Net.HttpStatusCode status, string xml, string requestId)
    {
        var response = new ResponseMessage
        {
            StatusCode = (int)status,
            BodyData = new BodyData
            {
                BodyAsString = xml,
                Encoding = Encoding.UTF8,
                DetectedBodyType = BodyType.String,
            },
        };
        response.AddHeader("Content-Type", "text/xml");
        response.AddHeader("x-amzn-RequestId", requestId);
        return response;
    }

    private static string AssumedRoleId(AssumeRoleParameters request)
    {
        // Stable per role, as a role's unique id is.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(request.RoleArn));
        var id = new StringBuilder("AROA", 21);
        for (var i = 0; i < 17; i++)
        {
            id.Append(UpperAlphanumerics[hash[i] % UpperAlphanumerics.Length]);
        }

        return $"{id}:{request.RoleSessionName}";
    }

    private async Task<IResponseMessage> HandleAsync(IRequestMessage request)
    {
        var requestId = Guid.NewGuid().ToString();
        var parameters = Parameters(request.RawQuery, request.Body);
        if (!parameters.TryGetValue("Action", out var action))
        {
            return Error(StsError.MissingAction(), requestId);
        }

        if (action != "AssumeRole")
        {
            return Error(StsError.InvalidAction(action), requestId);
        }

        var call = AssumeRoleParameters.From(parameters);
        var at = _time.GetUtcNow();
        var caller = CallerAccessKeyId(request);
        if (call.Validate() is { } invalid)
        {
            Record(call, at, null, caller);
            return Error(invalid, requestId);
        }

        // STS's own limits after the form is valid: chained sessions (the caller holds credentials STS issued) last
        // at most an hour, and no session outlasts the role's MaxSessionDuration.
        if (call.DurationSeconds > 3600 && caller is not null && _issued.ContainsKey(caller))
        {
            Record(call, at, null, caller);
            return Error(StsError.DurationAboveChainingLimit(), requestId);
        }

        if (_maxSessionDurations.TryGetValue(call.RoleArn, out var maximum) && call.DurationSeconds > maximum)
        {
            Record(call, at, null, caller);
            return Error(StsError.DurationAboveRoleMaximum(), requestId);
        }

        var fault = FaultFor(call.RoleArn);
        switch (fault?.Kind)
        {
            case StsFaultKind.TagSessionDenied when call.Tags.Count > 0:
                Record(call, at, null, caller);
                return Error(StsError.TagSessionDenied(CallerArn, call.RoleArn), requestId);
            case StsFaultKind.Throttling:
                Record(call, at, null, caller);
                return Error(StsError.Throttling(), requestId);
            case StsFaultKind.AccessDenied:
                Record(call, at, null, caller);
                return Error(StsError.AccessDenied(CallerArn, call.RoleArn), requestId);
            case StsFaultKind.ServerError or StsFaultKind.ConnectionReset:
                // A reset fault set after the middleware let this request through: fail it the nearest way.
                Record(call, at, null, caller);
                return Error(StsError.ServerError(), requestId);
        }

        var stsNow = at + ClockOffset;
        var issued = Mint(call, stsNow);
        Record(call, at, issued.AccessKeyId, caller);
        if (fault?.Kind == StsFaultKind.Latency)
        {
            await Task.Delay(fault.Delay, _time);
        }

        return Xml(System.Net.HttpStatusCode.OK, StsXml.AssumeRoleResponse(issued, AssumedRoleId(call), requestId), requestId);
    }

    private static ResponseMessage Error(StsError error, string requestId) =>
        Xml(error.Status, StsXml.ErrorResponse(error, requestId), requestId);

    private StsIssuedCredentials Mint(AssumeRoleParameters call, DateTimeOffset at)
    {
        var lifetime = CredentialLifetime ?? TimeSpan.FromSeconds(call.DurationSeconds);
        var expiration = at + lifetime;
        expiration = expiration.AddTicks(-(expiration.UtcTicks % TimeSpan.TicksPerSecond));
        while (true)
        {
            var issued = new StsIssuedCredentials(
                AccessKeyId: "ASIA" + RandomNumberGenerator.GetString(UpperAlphanumerics, 16),
                SecretAccessKey: RandomNumberGenerator.GetString(SecretAlphabet, 40),
                SessionToken: "IQoJb3JpZ2luX2VjE" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(300)),
                Expiration: expiration,
                RoleArn: call.RoleArn,
                RoleSessionName: call.RoleSessionName,
                ExternalId: call.ExternalId,
                AssumedRoleArn: $"arn:{call.Partition}:sts::{call.Account}:assumed-role/{call.RoleName}/{call.RoleSessionName}");
            if (_issued.TryAdd(issued.AccessKeyId, issued))
            {
                return issued;
            }
        }
    }

    private StsFault? FaultFor(string roleArn)
    {
        lock (_gate)
        {
            return _roleFaults.GetValueOrDefault(roleArn) ?? _fault;
        }
    }

    /// <summary>The access key id of a SigV4 <c>Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/sts/aws4_request, …</c>.</summary>
    private static string? CallerAccessKeyId(IRequestMessage request)
    {
        var authorization = request.Headers?.FirstOrDefault(h => string.Equals(h.Key, "Authorization", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        const string marker = "Credential=";
        var start = authorization?.IndexOf(marker, StringComparison.Ordinal) ?? -1;
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var end = authorization!.IndexOf('/', start);
        return end > start ? authorization[start..end] : null;
    }

    private void Record(AssumeRoleParameters call, DateTimeOffset at, string? accessKeyId, string? callerAccessKeyId = null)
    {
        lock (_gate)
        {
            _calls.Add(new AssumeRoleCall(call.RoleArn, call.RoleSessionName, call.ExternalId, call.DurationSeconds, at, accessKeyId)
            {
                Tags = call.Tags,
                TransitiveTagKeys = call.TransitiveTagKeys,
                CallerAccessKeyId = callerAccessKeyId,
            });
            for (var i = _callWaiters.Count - 1; i >= 0; i--)
            {
                if (_callWaiters[i].Count <= _calls.Count)
                {
                    _callWaiters[i].Done.TrySetResult();
                    _callWaiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Counts the connections requests arrive on, and closes each after its answer when asked to.</summary>
    private Task ConnectionsAsync(HttpContext context, Func<Task> next)
    {
        _connections.TryAdd(context.Connection.Id, 0);
        if (_closeConnections)
        {
            // Kestrel closes the connection once a response carrying "Connection: close" is sent.
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.Connection = "close";
                return Task.CompletedTask;
            });
        }

        return next();
    }

    /// <summary>Every answer's Date on STS's own clock (<see cref="ClockOffset"/>), as STS writes it (WireMock drops a Date set by a mapping).</summary>
    private Task StsClockAsync(HttpContext context, Func<Task> next)
    {
        context.Response.OnStarting(() =>
        {
            context.Response.Headers.Date = (_time.GetUtcNow() + ClockOffset).ToString("r", System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        });
        return next();
    }

    /// <summary>
    /// Runs in front of WireMock: WireMock's own faults still send an HTTP response (an empty or garbled body), so a
    /// connection reset is done here, on the raw connection, after the request has been read.
    /// </summary>
    private async Task ResetConnectionsAsync(HttpContext context, Func<Task> next)
    {
        if (!_anyReset)
        {
            await next();
            return;
        }

        var request = context.Request;
        request.EnableBuffering();
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8, leaveOpen: true))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        request.Body.Position = 0;
        var parameters = Parameters(request.QueryString.Value?.TrimStart('?'), body);
        if (parameters.GetValueOrDefault("Action") == "AssumeRole")
        {
            var call = AssumeRoleParameters.From(parameters);
            if (call.Validate() is null && FaultFor(call.RoleArn)?.Kind == StsFaultKind.ConnectionReset)
            {
                Record(call, _time.GetUtcNow(), null);
                context.Abort();
                return;
            }
        }

        await next();
    }
}
