using Iam4Kube.Testing.Networking;

namespace Ip2Service.Tests.TestSupport;

/// <summary>
/// Tiny Python programs (python3 is on every test machine: the SDK end-to-end tests need it) for what the namespace
/// tests assert: a backend that answers every connection with its name and the source address it sees, and a
/// client that connects from inside the pod and reports what happened to each connection.
/// </summary>
internal static class TcpProbe
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Args: address port name [held]. Prints "listening" once bound; answers "NAME SOURCE-IP\n" at once or,
    /// held, only once the client has sent a line: the connection then stays open, already redirected, for as long as
    /// the test wants.</summary>
    private const string BackendScript = """
        import socket, sys, time
        address, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        held = sys.argv[4:] == ["held"]
        server = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(128)
        print("listening", flush=True)
        while True:
            connection, peer = server.accept()
            print("connection from", peer[0], "port", peer[1], "at", int(time.monotonic() * 1000), "to", name, flush=True)
            request = b"" if held else b"\n"
            while not request.endswith(b"\n"):
                chunk = connection.recv(100)
                if not chunk:
                    break
                request += chunk
            connection.sendall(f"{name} {peer[0]}\n".encode())
            connection.close()
        """;

    /// <summary>Args: address port count (0: until stopped, 10 ms apart, after a "started" line). Prints one line
    /// per connection: "ok NAME SOURCE-IP", "refused MS", "timeout PHASE at MS" or "error TEXT".</summary>
    private const string ClientScript = """
        import itertools, socket, sys, time
        address, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        if count == 0:
            print("started", flush=True)
        for _ in (itertools.count() if count == 0 else range(count)):
            if count == 0:
                time.sleep(0.01)
            started = time.monotonic()
            phase = "connect"
            try:
                # 10 s, not 3: at a load average of 30 on 2 CPUs a backend or this client can wait seconds to be
                # scheduled, while rules that drop SYNs (what "timeout" exists to catch) time out at any bound.
                with socket.create_connection((address, port), timeout=10) as connection:
                    phase = "recv on port " + str(connection.getsockname()[1])
                    data = b""
                    while not data.endswith(b"\n"):
                        chunk = connection.recv(100)
                        if not chunk:
                            break
                        data += chunk
                    print("ok", data.decode().strip(), flush=True)
            except ConnectionRefusedError:
                print("refused", int((time.monotonic() - started) * 1000), flush=True)
            except socket.timeout:
                # Which phase and when (monotonic ms): to tell a dropped SYN from an endpoint that accepted and hung.
                print("timeout", phase, "at", int(started * 1000), flush=True)
            except OSError as error:
                print("error", error, flush=True)
        """;

    /// <summary>Args: address port trigger-file. Connects, prints "connected", waits (at most 60 s) until the trigger
    /// file exists, then sends a line and prints what came back: "ok NAME SOURCE-IP", "timeout" or "error TEXT".</summary>
    private const string HeldClientScript = """
        import os, socket, sys, time
        address, port, trigger = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        connection = socket.create_connection((address, port), timeout=10)
        print("connected", flush=True)
        deadline = time.monotonic() + 60
        while not os.path.exists(trigger) and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            connection.sendall(b"answer now\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = connection.recv(100)
                if not chunk:
                    break
                data += chunk
            print("ok", data.decode().strip(), flush=True)
        except socket.timeout:
            print("timeout", flush=True)
        except OSError as error:
            print("error", error, flush=True)
        """;

    /// <summary>Starts a backend in <paramref name="where"/> (answering only after the client's first line when
    /// <paramref name="held"/>) and waits until it listens.</summary>
    public static async Task<BackgroundProcess> StartBackendAsync(NetworkNamespace where, string address, int port, string name, bool held = false)
    {
        var process = where.Start(Python, ["-u", "-c", BackendScript, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture), name, .. held ? ["held"] : Array.Empty<string>()]);
        await process.WaitForLineAsync("listening", TimeSpan.FromSeconds(10));
        return process;
    }

    /// <summary>Opens one connection from inside <paramref name="where"/> and keeps it open, silent, until
    /// <paramref name="trigger"/> exists; its last line then says whether the answer came back.</summary>
    public static async Task<BackgroundProcess> StartHeldClientAsync(NetworkNamespace where, string address, int port, string trigger)
    {
        var process = where.Start(Python, ["-u", "-c", HeldClientScript, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture), trigger]);
        await process.WaitForLineAsync("connected", TimeSpan.FromSeconds(15));
        return process;
    }

    /// <summary>Starts a client in <paramref name="where"/> that connects until disposed.</summary>
    public static async Task<BackgroundProcess> StartClientLoopAsync(NetworkNamespace where, string address, int port)
    {
        var process = where.Start(Python, ["-u", "-c", ClientScript, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture), "0"]);
        await process.WaitForLineAsync("started", TimeSpan.FromSeconds(10));
        return process;
    }

    /// <summary>Makes <paramref name="count"/> connections from inside <paramref name="where"/>; one outcome each.</summary>
    public static async Task<IReadOnlyList<string>> ConnectAsync(NetworkNamespace where, string address, int port, int count = 1)
    {
        var result = await where.RunCheckedAsync(
            Python,
            ["-u", "-c", ClientScript, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture), count.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            timeout: TimeSpan.FromSeconds(10 + (11 * count)));
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
