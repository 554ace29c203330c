using SocketRunnerAspire.Cluster.Transport;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// Network faults on the runner protocol: half-open connections, a peer that stops reading, and resets in the
/// middle of a frame. Callers get a typed error within a bound, never a hang, and the runner's memory stays bounded.
/// </summary>
public sealed class RunnerSocketFaultTests
{
    private static readonly byte[] Payload = [1, 2, 3, 4];

    private readonly EchoRpcHandler _handler = new();
    private readonly CapturingLoggerProvider _logs = new();

    [Fact]
    public async Task AHalfOpenConnectionFailsItsCallsWithinTwoKeepAliveIntervalsAndTheRunnerDropsIt()
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { IdleConnectionTimeout = TimeSpan.FromSeconds(1) });
        var listening = (RunnerSocketServer)await server.ListenAsync(address, _handler, default);
        await using var _ = listening;
        await using var proxy = new TcpProxy(address.Port);
        proxy.Start();
        var viaProxy = new RunnerAddress("127.0.0.1", proxy.Port);
        await using var client = new SocketRunnerTransport(new RunnerSocketOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(300) });
        Assert.Equal(Payload, (await client.RequestAsync(viaProxy, Payload, false, default)).ToArray());

        // The network path dies silently: no FIN, no RST, every byte lost in both directions.
        proxy.Blackhole = true;
        var started = DateTime.UtcNow;
        var call = client.RequestAsync(viaProxy, Payload, false, default);

        var error = await Assert.ThrowsAsync<RunnerUnavailableException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("keep-alive", error.Message, StringComparison.Ordinal);
        Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0, 3);

        // The runner, which hears nothing either, closes its end after its idle timeout.
        await Eventually.True(() => listening.ConnectionCount == 0, TimeSpan.FromSeconds(10), "the runner closed the silent connection");
    }

    [Fact]
    public async Task KeepAlivePingsHoldAnIdleButHealthyConnectionOpen()
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { IdleConnectionTimeout = TimeSpan.FromSeconds(2) }, _logs.CreateFactory());
        var listening = (RunnerSocketServer)await server.ListenAsync(address, _handler, default);
        await using var _ = listening;
        await using var client = new SocketRunnerTransport(new RunnerSocketOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(250) }, _logs.CreateFactory());
        await client.PingAsync(address, default);

        // Two and a half idle timeouts without a call: only the keep-alive pings cross the connection.
        for (var i = 0; i < 25; i++)
        {
            await Task.Delay(200);
            Assert.Equal(1, listening.ConnectionCount);
        }

        Assert.Equal(Payload, (await client.RequestAsync(address, Payload, false, default)).ToArray());
        Assert.DoesNotContain(_logs.Entries, e => e.Message.Contains("keep-alive", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARunnerClosesAConnectionThatSendsNothing()
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { IdleConnectionTimeout = TimeSpan.FromMilliseconds(500) }, _logs.CreateFactory());
        await using var listening = await server.ListenAsync(address, _handler, default);

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(address));

        await RunnerSocketSecurityTests.AssertClosedByPeerAsync(socket);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("nothing received for", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APeerThatNeverReadsItsRepliesIsPushedBackAndTheRunnersPendingRepliesStayBounded()
    {
        const int maxPending = 64;
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(new RunnerSocketOptions { MaxPendingRequestsPerConnection = maxPending, SendQueueCapacity = 16 });
        var listening = (RunnerSocketServer)await server.ListenAsync(address, _handler, default);
        await using var _ = listening;

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, SendBufferSize = 64 * 1024 };
        await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(address));
        var pings = PingFrames(100_000); // 1 MB of pings per send; the replies are never read

        GC.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long sent = 0;
        var maxSeenPending = 0;
        var stalled = false;
        while (sent < 512L * 1024 * 1024)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                sent += await socket.SendAsync(pings, SocketFlags.None, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                stalled = true;
                break;
            }

            maxSeenPending = Math.Max(maxSeenPending, listening.PendingRequests);
            Assert.InRange(maxSeenPending, 0, maxPending);
        }

        Assert.True(stalled, $"the runner kept reading ({sent / 1024 / 1024} MB of pings) from a peer that reads none of its replies");
        Assert.InRange(listening.PendingRequests, 0, maxPending);
        var grownBy = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        Assert.True(grownBy < 32 * 1024 * 1024, $"the heap grew by {grownBy / 1024 / 1024} MB while the peer was not reading");

        // Once the peer goes away everything held for it is released, and others are served as before.
        socket.Close(0);
        await Eventually.True(() => listening.ConnectionCount == 0 && listening.PendingRequests == 0, TimeSpan.FromSeconds(10), "the runner released the connection");
        await using var client = new SocketRunnerTransport();
        Assert.Equal(Payload, (await client.RequestAsync(address, Payload, false, default)).ToArray());
    }

    [Fact]
    public async Task AClientResetInTheMiddleOfAFrameClosesOnlyThatConnection()
    {
        var address = FreePort.Loopback();
        await using var server = new SocketRunnerTransport(null, _logs.CreateFactory());
        var listening = (RunnerSocketServer)await server.ListenAsync(address, _handler, default);
        await using var _ = listening;

        for (var i = 0; i < 20; i++)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(address));
            // The first 9 bytes of a 64 KiB request frame, then an RST.
            byte[] partial = [0, 1, 0, 0, 0x95, 2, 1, 0, 0xC0];
            await socket.SendAsync(partial);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }

        await Eventually.True(() => listening.ConnectionCount == 0, TimeSpan.FromSeconds(10), "the runner dropped every reset connection");
        Assert.Equal(0, _handler.Requests);
        Assert.DoesNotContain(_logs.Entries, e => e.Message.Contains("failed", StringComparison.Ordinal));
        await using var client = new SocketRunnerTransport();
        Assert.Equal(Payload, (await client.RequestAsync(address, Payload, false, default)).ToArray());
    }

    [Fact]
    public async Task ARunnerResetInTheMiddleOfAReplyFailsTheCallWithRunnerUnavailable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var fakeRunner = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptSocketAsync();
            var request = new byte[256];
            _ = await accepted.ReceiveAsync(request);
            // Half of a Success frame announcing a 1,000-byte body, then an RST.
            byte[] half = [0, 0, 3, 0xE8, 0x95, 65, 1, 0, 0xC0, 0xC5, 3, 0xD0, 9, 9, 9];
            await accepted.SendAsync(half);
            accepted.LingerState = new LingerOption(true, 0);
            accepted.Close();
        });

        await using var client = new SocketRunnerTransport();
        await Assert.ThrowsAsync<RunnerUnavailableException>(() => client.RequestAsync(new RunnerAddress("127.0.0.1", port), Payload, false, default).WaitAsync(TimeSpan.FromSeconds(10)));
        await fakeRunner;
    }

    [Fact]
    public async Task CallsToARunnerThatStopsReadingFailWithRunnerUnavailableInsteadOfHanging()
    {
        // A wedged runner: accepts, then neither reads nor writes. Enough calls to fill the client's send queue
        // and both socket buffers, so some callers wait for room in the queue rather than for a reply.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Server.ReceiveBufferSize = 4096;
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepting = listener.AcceptSocketAsync();

        await using var client = new SocketRunnerTransport(new RunnerSocketOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(300), SendQueueCapacity = 8 });
        var runner = new RunnerAddress("127.0.0.1", port);
        var payload = new byte[64 * 1024]; // 12.8 MB in all: more than both socket buffers, so the send queue is full before the first ping
        var calls = Enumerable.Range(0, 200).Select(_ => client.RequestAsync(runner, payload, false, default)).ToArray();
        using var wedged = await accepting;

        var all = Task.WhenAll(calls);
        await Assert.ThrowsAnyAsync<Exception>(() => all.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.All(calls, call => Assert.IsType<RunnerUnavailableException>(call.Exception?.InnerException));
    }

    private static byte[] PingFrames(int count)
    {
        // Each: 4-byte length 6, then [kind=Ping(1), id=1, flags=0, nil, nil].
        byte[] frame = [0, 0, 0, 6, 0x95, 1, 1, 0, 0xC0, 0xC0];
        var buffer = new byte[frame.Length * count];
        for (var i = 0; i < count; i++)
        {
            frame.CopyTo(buffer, i * frame.Length);
        }

        return buffer;
    }
}
