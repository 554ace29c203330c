using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Effect;

/// <summary>
/// A real C# runner (socket transport, loopback) called as an Effect TS node with ndjson serialization calls it: the
/// client here writes and reads the lines Effect's runner client would. The runner's own clients keep using the native
/// protocol on the same port.
/// </summary>
public sealed class EffectProtocolServerTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private TestCluster _cluster = null!;
    private long _nextRequestId = 7_000_000_000;

    private Sharding Runner => _cluster.Runners[0];

    private RunnerAddress RunnerAddress => Runner.Address!.Value;

    public async Task InitializeAsync() => _cluster = await StartAsync(1, entity: e => e.WithMailboxCapacity(2));

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private Task<TestCluster> StartAsync(int runners, Action<EntityDefinition<CounterEntity, CounterEntity>>? entity = null) => TestCluster.StartAsync(runners,
        entity: entity,
        transports: () => new SocketRunnerTransport(new RunnerSocketOptions(), _logs.CreateFactory()),
        addresses: _ => FreePort.Loopback());

    private EntityAddress Counter(string id) => new("Counter", id, _cluster.Client.GetShardId(id));

    private long NextRequestId() => Interlocked.Increment(ref _nextRequestId);

    private static JsonNode? Value(JsonObject exitFrame)
    {
        Assert.Equal("Exit", (string?)exitFrame["_tag"]);
        Assert.Equal("Success", (string?)exitFrame["exit"]!["_tag"]);
        return exitFrame["exit"]!["value"];
    }

    private static JsonObject Cause(JsonObject exitFrame)
    {
        Assert.Equal("Failure", (string?)exitFrame["exit"]!["_tag"]);
        return exitFrame["exit"]!["cause"]![0]!.AsObject();
    }

    [Fact]
    public async Task PingIsAnsweredBothAsAnRpcAndAsAKeepAlive()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);

        var id = await client.RequestAsync("Ping", null);
        var exit = await client.ReadAsync();
        Assert.Equal(id, (int)exit["requestId"]!);
        Assert.Null(Value(exit));

        await client.SendLineAsync("""{"_tag":"Ping"}""");
        Assert.Equal("""{"_tag":"Pong"}""", (await client.ReadAsync()).ToJsonString());
    }

    [Fact]
    public async Task AnEffectRequestReachesTheEntityAndRepliesWithExit()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);
        var address = Counter("effect-1");
        var requestId = NextRequestId();

        var id = await client.EntityRequestAsync("Effect", requestId, address, "Deposit", new JsonObject { ["key"] = "a", ["amount"] = 5 });
        var reply = Value(await client.ReadAsync())!.AsObject();
        await client.EntityRequestAsync("Effect", NextRequestId(), address, "Deposit", new JsonObject { ["key"] = "b", ["amount"] = 1 });
        var second = Value(await client.ReadAsync())!.AsObject();

        Assert.Equal("WithExit", (string?)reply["_tag"]);
        Assert.Equal(requestId.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)reply["requestId"]);
        Assert.True(long.TryParse((string?)reply["id"], out var replyId) && replyId > 0, "the reply id is a snowflake as a decimal string");
        Assert.Equal("""{"_tag":"Success","value":5}""", reply["exit"]!.ToJsonString());
        Assert.Equal(6, (int)second["exit"]!["value"]!);
        Assert.Equal(RunnerAddress, _cluster.Probe.HandledBy["b"]);
        _ = id;

        // The native protocol still serves the same port.
        Assert.Equal(7, await _cluster.Client.GetEntity<CounterEntity>("effect-1").AskAsync(new Deposit("c", 1)));
    }

    [Fact]
    public async Task AFailingHandlerDiesInsideItsReplyWhileTheRpcSucceeds()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);

        await client.EntityRequestAsync("Effect", NextRequestId(), Counter("fails"), "Fail", new JsonObject { ["reason"] = "boom" });
        var reply = Value(await client.ReadAsync())!.AsObject();

        var cause = reply["exit"]!["cause"]![0]!;
        Assert.Equal("Die", (string?)cause["_tag"]);
        Assert.Equal("InvalidOperationException", (string?)cause["defect"]!["name"]);
        Assert.Equal("boom", (string?)cause["defect"]!["message"]);
    }

    [Theory]
    [InlineData("NoSuchEntity", "Increment", "EntityTypeNotRegistered")]
    [InlineData("Counter", "NoSuchRpc", "UnknownEntityType")]
    [InlineData("Counter", "CountTo", "MalformedMessage")]   // a stream RPC sent as Effect
    public async Task AnUndeliverableRequestDiesInsideItsReply(string entityType, string tag, string defect)
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);
        var address = new EntityAddress(entityType, "x", _cluster.Client.GetShardId("x"));

        await client.EntityRequestAsync("Effect", NextRequestId(), address, tag, new JsonObject { ["by"] = 1, ["n"] = 1 });
        var cause = Value(await client.ReadAsync())!["exit"]!["cause"]![0]!;

        Assert.Equal("Die", (string?)cause["_tag"]);
        Assert.Equal(defect, (string?)cause["defect"]!["name"]);
    }

    [Fact]
    public async Task AStreamSendsItsNextChunkOnlyAfterTheAck()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);
        var requestId = NextRequestId();

        var id = await client.EntityRequestAsync("Stream", requestId, Counter("streams"), "CountTo", new JsonObject { ["n"] = 3 });
        var items = new List<int>();
        JsonObject? last = null;
        for (var sequence = 0; ; sequence++)
        {
            var chunk = await client.ReadAsync();
            if ((string?)chunk["_tag"] == "Exit")
            {
                Assert.Null(Value(chunk));
                break;
            }

            Assert.Equal("Chunk", (string?)chunk["_tag"]);
            Assert.Equal(id, (int)chunk["requestId"]!);
            var reply = chunk["values"]!.AsArray().Single()!.AsObject();
            Assert.Equal(requestId.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)reply["requestId"]);
            if ((string?)reply["_tag"] == "Chunk")
            {
                Assert.Equal(sequence, (int)reply["sequence"]!);
                items.Add((int)reply["values"]![0]!);
            }
            else
            {
                last = reply;
            }

            Assert.True(await client.IsQuietAsync(TimeSpan.FromMilliseconds(150)), "nothing more is sent before the ack");
            await client.SendLineAsync($$"""{"_tag":"Ack","requestId":{{id}}}""");
        }

        Assert.Equal([1, 2, 3], items);
        Assert.Equal("WithExit", (string?)last!["_tag"]);
        Assert.Equal("""{"_tag":"Success","value":null}""", last["exit"]!.ToJsonString());
    }

    [Fact]
    public async Task AnInterruptFrameStopsTheHandler()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);

        var id = await client.EntityRequestAsync("Effect", NextRequestId(), Counter("held"), "Hold", new JsonObject { ["key"] = "frame" });
        await _cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await client.SendLineAsync($$"""{"_tag":"Interrupt","requestId":{{id}}}""");

        var exit = await client.ReadAsync();
        Assert.Equal(id, (int)exit["requestId"]!);
        Assert.Equal("Interrupt", (string?)Cause(exit)["_tag"]);
        Assert.Equal("frame", await _cluster.Probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        // An interrupt for a request that is not running is answered with an interrupted exit, as Effect's server does.
        await client.SendLineAsync("""{"_tag":"Interrupt","requestId":999}""");
        Assert.Equal("Interrupt", (string?)Cause(await client.ReadAsync())["_tag"]);
    }

    [Fact]
    public async Task AnInterruptEnvelopeStopsTheRequestWhichRepliesInterrupted()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);
        await using var other = await EffectNdjsonClient.ConnectAsync(RunnerAddress);
        var address = Counter("held-by-envelope");
        var requestId = NextRequestId();

        var id = await client.EntityRequestAsync("Effect", requestId, address, "Hold", new JsonObject { ["key"] = "envelope" });
        await _cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await other.RequestAsync("Envelope", new JsonObject
        {
            ["envelope"] = new JsonObject
            {
                ["_tag"] = "Interrupt", ["id"] = NextRequestId().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["address"] = EffectNdjsonClient.Address(address), ["requestId"] = requestId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            ["persisted"] = false,
        });

        Assert.Null(Value(await other.ReadAsync()));
        var exit = await client.ReadAsync();
        Assert.Equal(id, (int)exit["requestId"]!);
        var reply = Value(exit)!;
        Assert.Equal("WithExit", (string?)reply["_tag"]);
        Assert.Equal("Interrupt", (string?)reply["exit"]!["cause"]![0]!["_tag"]);
        Assert.Equal("envelope", await _cluster.Probe.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AFullMailboxFailsTheRpcWithMailboxFull()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);
        var address = Counter("full");

        await client.EntityRequestAsync("Effect", NextRequestId(), address, "Hold", new JsonObject { ["key"] = "m1" });
        await client.EntityRequestAsync("Effect", NextRequestId(), address, "Hold", new JsonObject { ["key"] = "m2" });
        await _cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        var third = await client.EntityRequestAsync("Effect", NextRequestId(), address, "Hold", new JsonObject { ["key"] = "m3" });

        var exit = await client.ReadAsync();
        Assert.Equal(third, (int)exit["requestId"]!);
        var cause = Cause(exit);
        Assert.Equal("Fail", (string?)cause["_tag"]);
        Assert.Equal("MailboxFull", (string?)cause["error"]!["_tag"]);
        Assert.Equal(EffectNdjsonClient.Address(address).ToJsonString(), cause["error"]!["address"]!.ToJsonString());
        _cluster.Probe.Open("m1");
        _cluster.Probe.Open("m2");
        Assert.NotNull(Value(await client.ReadAsync()));
        Assert.NotNull(Value(await client.ReadAsync()));
    }

    [Fact]
    public async Task AnEntityOnAnotherRunnersShardFailsTheRpcWithEntityNotAssignedToRunner()
    {
        await using var cluster = await StartAsync(2);
        var first = cluster.Runners[0];
        var elsewhere = Enumerable.Range(0, 1000).Select(i => $"e-{i}")
            .First(id => cluster.Client.GetOwner(cluster.Client.GetShardId(id)) != first.Address);
        await using var client = await EffectNdjsonClient.ConnectAsync(first.Address!.Value);
        var address = new EntityAddress("Counter", elsewhere, cluster.Client.GetShardId(elsewhere));

        await client.EntityRequestAsync("Effect", NextRequestId(), address, "Increment", new JsonObject { ["by"] = 1 });
        var cause = Cause(await client.ReadAsync());

        Assert.Equal("Fail", (string?)cause["_tag"]);
        Assert.Equal("EntityNotAssignedToRunner", (string?)cause["error"]!["_tag"]);
        Assert.Equal(elsewhere, (string?)cause["error"]!["address"]!["entityId"]);
    }

    [Theory]
    [InlineData("Effect")]
    [InlineData("Stream")]
    public async Task PersistedRequestsAreRefusedWithADefectThatSaysSo(string rpc)
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);

        await client.EntityRequestAsync(rpc, NextRequestId(), Counter("p"), "Increment", new JsonObject { ["by"] = 1 }, persisted: true);
        var cause = Cause(await client.ReadAsync());

        Assert.Equal("Die", (string?)cause["_tag"]);
        Assert.Contains("not supported", (string?)cause["defect"]!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVolatileNotifyDeliversTheRequestWithoutItsReplyAndAPersistedOneIsRefused()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);
        var address = Counter("notified");

        await client.RequestAsync("Notify", new JsonObject
        {
            ["envelope"] = EffectNdjsonClient.PartialRequest(NextRequestId(), address, "Deposit", new JsonObject { ["key"] = "notified", ["amount"] = 4 }),
            ["persisted"] = false,
        });
        Assert.Null(Value(await client.ReadAsync()));
        await Eventually.True(() => _cluster.Probe.Runs.ContainsKey("notified"), TimeSpan.FromSeconds(5), "the notified request ran");

        await client.RequestAsync("Notify", new JsonObject
        {
            ["envelope"] = EffectNdjsonClient.PartialRequest(NextRequestId(), address, "Increment", new JsonObject { ["by"] = 1 }),
            ["persisted"] = true,
        });
        Assert.Contains("not supported", (string?)Cause(await client.ReadAsync())["defect"]!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadFramesAreAnsweredAndTheConnectionGoesOn()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);

        await client.SendLineAsync("{not json");
        Assert.Equal("Defect", (string?)(await client.ReadAsync())["_tag"]);

        await client.SendLineAsync("""{"_tag":"Hello"}""");
        Assert.Equal("""{"_tag":"Defect","defect":"Unknown request tag: Hello"}""", (await client.ReadAsync()).ToJsonString());

        var unknown = await client.RequestAsync("Teleport", null);
        var exit = await client.ReadAsync();
        Assert.Equal(unknown, (int)exit["requestId"]!);
        Assert.Equal("""{"_tag":"Die","defect":"Unknown request tag: Teleport"}""", Cause(exit).ToJsonString());

        await client.RequestAsync("Effect", new JsonObject { ["persisted"] = false });
        var missing = Cause(await client.ReadAsync());
        Assert.Equal("Die", (string?)missing["_tag"]);
        Assert.Contains("request", (string?)missing["defect"], StringComparison.Ordinal);

        await client.EntityRequestAsync("Effect", NextRequestId(), Counter("bad"), "Deposit", new JsonObject { ["key"] = "k", ["amount"] = "lots" });
        Assert.Equal("MalformedMessage", (string?)Value(await client.ReadAsync())!["exit"]!["cause"]![0]!["defect"]!["name"]);

        await client.RequestAsync("Ping", null);
        Assert.Null(Value(await client.ReadAsync()));
        Assert.Single(_cluster.Runners);
    }

    [Fact]
    public async Task EofEndsTheConnectionOnceItsRpcsAreDone()
    {
        await using var client = await EffectNdjsonClient.ConnectAsync(RunnerAddress);

        var id = await client.EntityRequestAsync("Effect", NextRequestId(), Counter("eof"), "Hold", new JsonObject { ["key"] = "eof" });
        await _cluster.Probe.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await client.SendLineAsync("""{"_tag":"Eof"}""");
        Assert.True(await client.IsQuietAsync(TimeSpan.FromMilliseconds(200)), "the connection stays open while an RPC runs");
        _cluster.Probe.Open("eof");

        Assert.Equal(id, (int)(await client.ReadAsync())["requestId"]!);
        Assert.True(await client.IsClosedByRunnerAsync());
    }

    [Fact]
    public async Task AConnectionInAnUnknownProtocolIsClosedWithAReason()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(RunnerAddress));
        await socket.SendAsync(new byte[] { 0x83, 0xA4, 0x5F, 0x74, 0x61, 0x67 }); // msgpack, Effect's default serialization

        var buffer = new byte[16];
        Assert.Equal(0, await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(5)));
        await Eventually.True(() => _logs.Entries.Any(e => e.Level == LogLevel.Error && e.Message.Contains("unknown protocol (first byte 0x83)", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), "the refusal is logged");
    }
}
