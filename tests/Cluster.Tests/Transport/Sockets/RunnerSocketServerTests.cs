using SocketRunnerAspire.Cluster.Transport;
using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>The runner server against bad input: the offending connection is closed and logged, the runner keeps serving.</summary>
public sealed class RunnerSocketServerTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private TestCluster _cluster = null!;

    private Sharding Runner => _cluster.Runners[0];

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(1,
        transports: () => new SocketRunnerTransport(new RunnerSocketOptions { MaxFrameSize = 64 * 1024 }, _logs.CreateFactory()),
        addresses: _ => FreePort.Loopback());

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public void LogsTheBoundAddressAsHostAndPort()
    {
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Information && e.Message == $"Listening on: {Runner.Address}");
    }

    [Fact]
    public async Task LogsTheBoundPathForUnixSockets()
    {
        var logs = new CapturingLoggerProvider();
        var path = FreePort.UnixSocket();
        await using var cluster = await TestCluster.StartAsync(1,
            transports: () => new SocketRunnerTransport(null, logs.CreateFactory()), addresses: _ => path);

        Assert.Contains(logs.Entries, e => e.Message == $"Listening on: {path.Host}");
        Assert.Equal(1, await cluster.Client.GetEntity<CounterEntity>("u").AskAsync(new Increment(1)));
    }

    public static TheoryData<string, byte[]> BadInputs => new()
    {
        { "garbage", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray() },
        { "oversized", Prefix(10 * 1024 * 1024) },
        { "negative length", Prefix(-5) },
        { "not a frame body", [.. Prefix(4), 0xC1, 0xC1, 0xC1, 0xC1] },
        { "unknown frame kind", [.. Prefix(5), 0x95, 0x7F, 0x01, 0x00, 0xC0] },
        { "truncated", [.. Prefix(100), 1, 2, 3] },
        { "credit of no chunks", [.. Prefix(6), 0x95, (byte)FrameKind.Credit, 0x01, 0x00, 0xC0, 0xC0] },
        { "credit with a payload", [.. Prefix(8), 0x95, (byte)FrameKind.Credit, 0x01, 0x04, 0xC0, 0xC4, 0x01, 0xAA] },
        { "credit with meta", [.. Prefix(7), 0x95, (byte)FrameKind.Credit, 0x01, 0x04, 0xA1, (byte)'x', 0xC0] },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task BadInputClosesOnlyThatConnection(string name, byte[] bytes)
    {
        var endPoint = SocketRunnerTransport.ToEndPoint(Runner.Address!.Value);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);
        await socket.SendAsync(bytes);
        socket.Shutdown(SocketShutdown.Send);

        // The server closes the connection: a read returns 0 (or the connection is reset).
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
        }

        await Eventually.True(() => _logs.Entries.Any(e => e.Level == LogLevel.Error && e.Message.StartsWith("Closing runner connection", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), $"the {name} connection is logged as closed");

        // Everyone else is still served.
        Assert.Equal(1, await _cluster.Client.GetEntity<CounterEntity>($"after-{name}").AskAsync(new Increment(1)));
    }

    [Fact]
    public async Task CreditForAStreamThatIsNotRunningIsIgnoredAndTheConnectionServesOn()
    {
        var endPoint = SocketRunnerTransport.ToEndPoint(Runner.Address!.Value);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint);

        // A credit that crossed the stream's end on the wire: nothing to grant, nothing wrong.
        var output = new ArrayBufferWriter<byte>();
        var scratch = new ArrayBufferWriter<byte>();
        FrameCodec.Write(output, scratch, FrameKind.Credit, 77, 16, null, default, hasPayload: false);
        FrameCodec.Write(output, scratch, FrameKind.Ping, 1, 0, null, default, hasPayload: false);
        await socket.SendAsync(output.WrittenMemory);

        var received = new ArrayBufferWriter<byte>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            var read = await socket.ReceiveAsync(received.GetMemory(256), SocketFlags.None, timeout.Token);
            Assert.True(read > 0, "the server closed the connection");
            received.Advance(read);
            var buffer = new ReadOnlySequence<byte>(received.WrittenMemory);
            if (FrameCodec.TryRead(ref buffer, 64 * 1024, out var frame))
            {
                using (frame)
                {
                    Assert.Equal((FrameKind.Pong, 1L), (frame.Kind, frame.RequestId));
                }

                break;
            }
        }

        Assert.DoesNotContain(_logs.Entries, e => e.Level == LogLevel.Error);
    }

    [Fact]
    public async Task AnUndecodableEnvelopeInAValidFrameIsATypedErrorAndTheConnectionSurvives()
    {
        await using var transport = new SocketRunnerTransport();

        await Assert.ThrowsAsync<MalformedMessageException>(() => transport.RequestAsync(Runner.Address!.Value, new byte[] { 0x93, 1, 2, 3 }, false, default));
        await transport.PingAsync(Runner.Address!.Value, default);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnEnvelopeNamingAnotherShardThanItsEntitysIsATypedErrorAndRunsNothing(bool persisted)
    {
        await using var transport = new SocketRunnerTransport();
        var id = "misrouted";
        var rightShard = Runner.GetShardId(id);
        var wrongShard = new ShardId(rightShard.Group, rightShard.Id % TestCluster.ShardsPerGroup + 1);
        var payload = Cluster.Serialization.ClusterSerializer.Default.SerializeObject(new Deposit("key-1", 5));
        var envelope = Cluster.Transport.EnvelopeCodec.Encode(new Cluster.Transport.Envelope(
            42, new EntityAddress("Counter", id, wrongShard), nameof(Deposit), Cluster.Entities.RpcKind.Request, payload, null, null));

        await Assert.ThrowsAsync<MalformedMessageException>(() => transport.RequestAsync(Runner.Address!.Value, envelope, persisted, default));
        Assert.Equal(0, _cluster.Runners.Sum(r => r.ActiveEntities("Counter")));
    }

    [Fact]
    public async Task ACallToAStoppedRunnerFailsWithRunnerUnavailable()
    {
        await using var transport = new SocketRunnerTransport();

        await Assert.ThrowsAsync<RunnerUnavailableException>(() => transport.PingAsync(FreePort.Loopback(), default));
    }

    private static byte[] Prefix(int length)
    {
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, length);
        return prefix;
    }
}
