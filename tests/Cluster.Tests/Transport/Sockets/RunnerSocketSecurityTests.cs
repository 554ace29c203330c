using SocketRunnerAspire.Cluster.Transport;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// Who may talk to a runner: it binds only where configured, speaks TLS with a configured certificate when asked,
/// and with a cluster secret serves only nodes that prove it. Every refusal is a typed error and no RPC reaches the handler.
/// </summary>
public sealed class RunnerSocketSecurityTests : IDisposable
{
    private static readonly byte[] Marker = Encoding.UTF8.GetBytes("plaintext-marker-7f3a");

    private readonly EchoRpcHandler _handler = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var file in _files)
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task TheRunnerPortAcceptsConnectionsOnlyOnTheConfiguredAddress()
    {
        var port = FreePort.Next();
        await using var server = new SocketRunnerTransport();
        await using var listening = await server.ListenAsync(new RunnerAddress("127.0.0.1", port), _handler, default);

        await AssertAcceptsAsync(IPAddress.Loopback, port);
        await AssertRefusesAsync(IPAddress.Parse("127.0.0.2"), port); // another loopback address of this machine

        // The same check passes for a wildcard bind, so the refusal above is the configured bind at work.
        var anyPort = FreePort.Next();
        await using var wildcard = await server.ListenAsync(new RunnerAddress("*", anyPort), _handler, default);
        await AssertAcceptsAsync(IPAddress.Parse("127.0.0.2"), anyPort);
    }

    [Fact]
    public void LocalhostMeansTheLoopbackInterfaceNotEveryInterface()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5000), SocketRunnerTransport.ToEndPoint(new RunnerAddress("localhost", 5000), listening: true));
    }

    [Fact]
    public async Task WithTlsRpcsWorkAndNoPlaintextCrossesTheWire()
    {
        using var certificate = TestCertificates.Create();
        var pfx = Track(TestCertificates.WritePfx(certificate, "pfx-password"));
        var tls = new RunnerSocketOptions { Tls = { Enabled = true, CertificatePath = pfx, CertificatePassword = "pfx-password" } };

        Assert.Equal(Marker, await RoundTripThroughProxyAsync(tls, tls, expectPlaintext: false));

        // Control: without TLS the marker is visible on the wire, so the check above can fail.
        Assert.Equal(Marker, await RoundTripThroughProxyAsync(new RunnerSocketOptions(), new RunnerSocketOptions(), expectPlaintext: true));
    }

    [Fact]
    public async Task TlsWorksWithAPemCertificateAndKeyAndAClientThatPinsTheThumbprint()
    {
        using var certificate = TestCertificates.Create();
        var (crt, key) = TestCertificates.WritePem(certificate);
        Track(crt);
        Track(key);
        var serverOptions = new RunnerSocketOptions { Tls = { Enabled = true, CertificatePath = crt, KeyPath = key } };
        // A client-only node without the certificate, accepting it by its SHA-256 thumbprint.
        var clientOptions = new RunnerSocketOptions { Tls = { Enabled = true, AllowedThumbprints = [Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.RawData))] } };

        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(serverOptions, _logs.CreateFactory());
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var client = new SocketRunnerTransport(clientOptions);

        Assert.Equal(Marker, (await client.RequestAsync(address, Marker, false, default)).ToArray());
        Assert.Contains(_logs.Entries, e => e.Message == $"Listening on: {address} (TLS)");
    }

    [Fact]
    public async Task AClientRejectsARunnerCertificateItDoesNotTrust()
    {
        using var runnerCertificate = TestCertificates.Create("CN=runner");
        using var otherCertificate = TestCertificates.Create("CN=impostor-check");
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { Tls = { Enabled = true, Certificate = runnerCertificate } });
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var client = new SocketRunnerTransport(new RunnerSocketOptions { Tls = { Enabled = true, Certificate = otherCertificate } });

        var error = await Assert.ThrowsAsync<ClusterAuthenticationException>(() => client.RequestAsync(address, Marker, false, default));
        Assert.Contains("TLS", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _handler.Requests);
    }

    [Fact]
    public async Task APlaintextClientCannotSendRpcsToATlsRunner()
    {
        using var certificate = TestCertificates.Create();
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { Tls = { Enabled = true, Certificate = certificate } }, _logs.CreateFactory());
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var client = new SocketRunnerTransport();

        await Assert.ThrowsAsync<RunnerUnavailableException>(() => client.RequestAsync(address, Marker, false, default));
        Assert.Equal(0, _handler.Requests);
        await Eventually.True(() => _logs.Entries.Any(e => e.Message.StartsWith("Rejected runner connection", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), "the runner logs the rejected connection");
    }

    [Fact]
    public async Task TlsWithoutACertificateFailsWhenTheRunnerStartsNotOnTheFirstConnection()
    {
        await using var transport = new SocketRunnerTransport(new RunnerSocketOptions { Tls = { Enabled = true } });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => transport.ListenAsync(FreePort.Loopback(), _handler, default));
        Assert.Contains("no certificate", error.Message, StringComparison.Ordinal);

        var unreadable = Assert.Throws<InvalidOperationException>(() => new SocketRunnerTransport(new RunnerSocketOptions { Tls = { Enabled = true, CertificatePath = "/nonexistent/runner.pfx" } }));
        Assert.Contains("/nonexistent/runner.pfx", unreadable.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string?, string?> SecretMismatches => new()
    {
        { "right", "wrong" },
        { "right", null },
        { null, "right" },
    };

    [Fact]
    public async Task NodesSharingTheClusterSecretTalk()
    {
        var options = new RunnerSocketOptions { ClusterSecret = "s3cret" };
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(options);
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var client = new SocketRunnerTransport(options);

        Assert.Equal(Marker, (await client.RequestAsync(address, Marker, false, default)).ToArray());
        await client.PingAsync(address, default);
        Assert.Equal(1, _handler.Requests);
    }

    [Theory]
    [MemberData(nameof(SecretMismatches))]
    public async Task ANodeWithoutTheClusterSecretCannotSendRpcs(string? serverSecret, string? clientSecret)
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { ClusterSecret = serverSecret, HandshakeTimeout = TimeSpan.FromSeconds(2) }, _logs.CreateFactory());
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var client = new SocketRunnerTransport(new RunnerSocketOptions { ClusterSecret = clientSecret, HandshakeTimeout = TimeSpan.FromSeconds(2) });

        var error = await Assert.ThrowsAsync<ClusterAuthenticationException>(() => client.RequestAsync(address, Marker, false, default)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("cluster secret", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _handler.Requests);
    }

    [Fact]
    public async Task ANodeWithoutTheSecretSendingALargeFirstRequestIsRefusedWithATypedError()
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { ClusterSecret = "s3cret" });
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var client = new SocketRunnerTransport();

        await Assert.ThrowsAsync<ClusterAuthenticationException>(() => client.RequestAsync(address, new byte[64 * 1024], false, default)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, _handler.Requests);
    }

    [Fact]
    public async Task ARawConnectionThatSkipsTheHandshakeIsClosedWithoutReachingTheHandler()
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { ClusterSecret = "s3cret" }, _logs.CreateFactory());
        await using var listening = await server.ListenAsync(address, _handler, default);

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(address));
        // A well-formed Request frame: [kind=2, id=1, flags=0, nil, bin(marker)].
        byte[] body = [0x95, 2, 1, 0, 0xC0, 0xC4, (byte)Marker.Length, .. Marker];
        byte[] frame = [0, 0, 0, (byte)body.Length, .. body];
        await socket.SendAsync(frame);

        await AssertClosedByPeerAsync(socket);
        Assert.Equal(0, _handler.Requests);
        Assert.Contains(_logs.Entries, e => e.Message.StartsWith("Rejected runner connection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AConnectionThatNeverCompletesTheHandshakeIsClosedAfterTheHandshakeTimeout()
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { ClusterSecret = "s3cret", HandshakeTimeout = TimeSpan.FromMilliseconds(500) });
        await using var listening = await server.ListenAsync(address, _handler, default);

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(address));

        await AssertClosedByPeerAsync(socket);
        await Eventually.True(() => ((RunnerSocketServer)listening).ConnectionCount == 0, TimeSpan.FromSeconds(5), "the runner dropped the connection");
    }

    [Fact]
    public async Task TlsAndTheClusterSecretTogether()
    {
        using var certificate = TestCertificates.Create();
        var options = new RunnerSocketOptions { ClusterSecret = "s3cret", Tls = { Enabled = true, Certificate = certificate } };
        Assert.Equal(Marker, await RoundTripThroughProxyAsync(options, options, expectPlaintext: false));

        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(options);
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var stranger = new SocketRunnerTransport(new RunnerSocketOptions { ClusterSecret = "guess", Tls = { Enabled = true, Certificate = certificate } });
        await Assert.ThrowsAsync<ClusterAuthenticationException>(() => stranger.RequestAsync(address, Marker, false, default));
    }

    private async Task<byte[]> RoundTripThroughProxyAsync(RunnerSocketOptions serverOptions, RunnerSocketOptions clientOptions, bool expectPlaintext)
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(serverOptions);
        await using var listening = await server.ListenAsync(address, _handler, default);
        await using var proxy = new TcpProxy(address.Port);
        proxy.Start();
        await using var client = new SocketRunnerTransport(clientOptions);

        var reply = (await client.RequestAsync(new RunnerAddress("127.0.0.1", proxy.Port), Marker, false, default)).ToArray();

        Assert.Equal(expectPlaintext, proxy.Traffic.AsSpan().IndexOf(Marker) >= 0);
        return reply;
    }

    private string Track(string path)
    {
        _files.Add(path);
        return path;
    }

    private static async Task AssertAcceptsAsync(IPAddress address, int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(address, port));
    }

    private static async Task AssertRefusesAsync(IPAddress address, int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var error = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(new IPEndPoint(address, port)));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    internal static async Task AssertClosedByPeerAsync(Socket socket)
    {
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // reset: closed as well
        }
    }
}
