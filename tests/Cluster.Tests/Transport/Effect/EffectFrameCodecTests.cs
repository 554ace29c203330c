using System.Text;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Effect;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Effect;

/// <summary>Every frame kind of Effect's RPC protocol (§4.3) and the runner payloads and replies (§4.5), against golden JSON built from the spec.</summary>
public sealed class EffectFrameCodecTests
{
    private static readonly EntityAddress Address = new("Counter", "c-1", new ShardId("default", 17));

    private const string AddressJson = """{"shardId":{"group":"default","id":17},"entityType":"Counter","entityId":"c-1"}""";

    private static EffectClientFrame Decode(string line) => EffectClientFrameDecoder.Decode(Encoding.UTF8.GetBytes(line));

    private static string Text(PooledBytes bytes)
    {
        using (bytes)
        {
            return Encoding.UTF8.GetString(bytes.Memory.Span);
        }
    }

    [Fact]
    public void ARequestWithANumberIdKeepsItsPayloadAsRawJson()
    {
        var frame = Decode("""{"_tag":"Request","id":7,"tag":"Effect","payload":{"request":{"a":[1,2]},"persisted":false},"headers":[["x-a","b"]],"traceId":"t","spanId":"s","sampled":true}""");

        Assert.Equal(EffectClientFrameKind.Request, frame.Kind);
        Assert.Equal(new EffectRequestId(7, null), frame.Id);
        Assert.Equal("Effect", frame.Tag);
        Assert.Equal("""{"request":{"a":[1,2]},"persisted":false}""", Encoding.UTF8.GetString(frame.Payload.Span));
    }

    [Fact]
    public void AStringIdIsEchoedAsAString()
    {
        var frame = Decode("""{"tag":"Ping","payload":null,"headers":[],"id":"42","_tag":"Request"}""");

        Assert.Equal("42", frame.Id.Text);
        Assert.Equal("null", Encoding.UTF8.GetString(frame.Payload.Span));
        Assert.Equal("""{"_tag":"Exit","requestId":"42","exit":{"_tag":"Success","value":null}}""" + "\n", Text(EffectServerFrames.ExitSuccess(frame.Id, default)));
    }

    [Theory]
    [InlineData("""{"_tag":"Ack","requestId":3}""", "Ack")]
    [InlineData("""{"_tag":"Interrupt","requestId":3}""", "Interrupt")]
    public void AcksAndInterruptsNameTheirRequest(string line, string kind)
    {
        var frame = Decode(line);
        Assert.Equal(Enum.Parse<EffectClientFrameKind>(kind), frame.Kind);
        Assert.Equal(new EffectRequestId(3, null), frame.Id);
    }

    [Theory]
    [InlineData("""{"_tag":"Ping"}""", "Ping")]
    [InlineData("""{"_tag":"Eof"}""", "Eof")]
    public void PingAndEofHaveNoFields(string line, string kind) => Assert.Equal(Enum.Parse<EffectClientFrameKind>(kind), Decode(line).Kind);

    [Theory]
    [InlineData("""{"_tag":"Request","id":1,"tag":"Effect""", null)]                    // truncated JSON
    [InlineData("not json", null)]
    [InlineData("[1,2]", null)]
    [InlineData("""{"_tag":"Hello"}""", "Unknown request tag: Hello")]
    [InlineData("""{"id":1}""", "Unknown request tag: undefined")]
    [InlineData("""{"_tag":"Request","tag":"Ping","payload":null,"headers":[]}""", "Invalid request id: undefined")]
    [InlineData("""{"_tag":"Request","id":{"x":1},"tag":"Ping"}""", "Invalid request id: {\"x\":1}")]
    [InlineData("""{"_tag":"Ack"}""", "Invalid request id")]
    [InlineData("""{"_tag":"Ping"} {"_tag":"Ping"}""", null)]
    public void BadFramesAreConnectionLevelProblems(string line, string? message)
    {
        var error = Assert.Throws<EffectProtocolException>(() => Decode(line));
        Assert.Null(error.RequestId);
        if (message is not null)
        {
            Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ARequestWithoutAnRpcTagFailsThatRequest()
    {
        var error = Assert.Throws<EffectProtocolException>(() => Decode("""{"_tag":"Request","id":9,"payload":null,"headers":[]}"""));
        Assert.Equal(new EffectRequestId(9, null), error.RequestId);
    }

    [Fact]
    public void ServerFramesHaveEffectsShapes()
    {
        var id = new EffectRequestId(5, null);
        Assert.Equal("""{"_tag":"Pong"}""" + "\n", Encoding.UTF8.GetString(EffectServerFrames.Pong.Span));
        Assert.Equal("""{"_tag":"Exit","requestId":5,"exit":{"_tag":"Success","value":{"a":1}}}""" + "\n",
            Text(EffectServerFrames.ExitSuccess(id, """{"a":1}"""u8.ToArray())));
        Assert.Equal("""{"_tag":"Exit","requestId":5,"exit":{"_tag":"Failure","cause":[{"_tag":"Fail","error":{"_tag":"EntityNotAssignedToRunner","address":""" + AddressJson + "}}]}}\n",
            Text(EffectServerFrames.ExitFailure(id, EffectFailure.From(new EntityNotAssignedToRunnerException(Address)))));
        Assert.Equal("""{"_tag":"Exit","requestId":5,"exit":{"_tag":"Failure","cause":[{"_tag":"Fail","error":{"_tag":"MailboxFull","address":""" + AddressJson + "}}]}}\n",
            Text(EffectServerFrames.ExitFailure(id, EffectFailure.From(new MailboxFullException(Address)))));
        Assert.Equal("""{"_tag":"Exit","requestId":5,"exit":{"_tag":"Failure","cause":[{"_tag":"Fail","error":{"_tag":"AlreadyProcessingMessage","envelopeId":"99","address":""" + AddressJson + "}}]}}\n",
            Text(EffectServerFrames.ExitFailure(id, EffectFailure.From(new AlreadyProcessingMessageException(Address, 99)))));
        Assert.Equal("""{"_tag":"Exit","requestId":5,"exit":{"_tag":"Failure","cause":[{"_tag":"Die","defect":"Unknown request tag: X"}]}}""" + "\n",
            Text(EffectServerFrames.ExitFailure(id, EffectFailure.Die(EffectDefect.Text("Unknown request tag: X")))));
        Assert.Equal("""{"_tag":"Exit","requestId":5,"exit":{"_tag":"Failure","cause":[{"_tag":"Interrupt","fiberId":null}]}}""" + "\n",
            Text(EffectServerFrames.ExitFailure(id, EffectFailure.From(new OperationCanceledException()))));
        Assert.Equal("""{"_tag":"Chunk","requestId":5,"values":[{"b":2}]}""" + "\n", Text(EffectServerFrames.Chunk(id, """{"b":2}"""u8.ToArray())));
        Assert.Equal("""{"_tag":"Defect","defect":{"name":"MalformedMessage","message":"bad"}}""" + "\n",
            Text(EffectServerFrames.Defect(EffectDefect.From(new MalformedMessageException("bad")))));
    }

    [Fact]
    public void RepliesHaveEffectsReplyShapesWithSnowflakesAsDecimalStrings()
    {
        Assert.Equal("""{"_tag":"WithExit","requestId":"123","id":"456","exit":{"_tag":"Success","value":6}}""",
            Text(EffectReplies.WithExitSuccess(123, 456, 6, static (w, v) => w.WriteNumberValue(v))));
        Assert.Equal("""{"_tag":"WithExit","requestId":"123","id":"456","exit":{"_tag":"Success","value":null}}""", Text(EffectReplies.WithExitVoid(123, 456)));
        Assert.Equal("""{"_tag":"WithExit","requestId":"123","id":"456","exit":{"_tag":"Failure","cause":[{"_tag":"Die","defect":{"name":"InvalidOperationException","message":"boom"}}]}}""",
            Text(EffectReplies.WithExitFailure(123, 456, EffectFailure.Die(EffectDefect.From(new EntityHandlerException("System.InvalidOperationException", "boom"))))));
        Assert.Equal("""{"_tag":"Chunk","requestId":"123","id":"457","sequence":2,"values":[3]}""",
            Text(EffectReplies.Chunk(123, 457, 2, 3, static (w, v) => w.WriteNumberValue(v))));
    }

    [Fact]
    public void AnEffectPayloadCarriesAPartialRequest()
    {
        var payload = Encoding.UTF8.GetBytes("""{"request":{"_tag":"Request","requestId":"7340032000","address":""" + AddressJson
            + ""","tag":"Deposit","payload":{"key":"k","amount":5},"headers":{"h":"v"},"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","sampled":true},"persisted":false}""");

        var (request, persisted) = EffectRunnerPayloads.ReadRequest(payload);

        Assert.False(persisted);
        Assert.Equal(7340032000, request.RequestId);
        Assert.Equal(Address, request.Address);
        Assert.Equal("Deposit", request.Tag);
        Assert.Equal("""{"key":"k","amount":5}""", Encoding.UTF8.GetString(request.Payload.Span));
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", request.TraceParent);
    }

    [Theory]
    [InlineData("""{"persisted":false}""", "request")]
    [InlineData("""{"request":{"_tag":"Request","requestId":"1","tag":"T","payload":null,"headers":{}},"persisted":false}""", "request.address")]
    [InlineData("""{"request":{"_tag":"Request","requestId":"x","address":{},"tag":"T","payload":null},"persisted":false}""", "request.requestId")]
    [InlineData("""{"request":{"_tag":"AckChunk"},"persisted":false}""", "request._tag")]
    [InlineData("""{"request":{"_tag":"Request","requestId":"1","address":{"entityType":"A","entityId":"b","shardId":{"group":"default","id":"1"}},"tag":"T","payload":1}}""", "address.shardId.id")]
    [InlineData("[]", "JSON object")]
    [InlineData("""{"request":""", "Undecodable")]
    public void AMalformedPayloadSaysWhatIsWrong(string payload, string problem)
    {
        var error = Assert.Throws<MalformedMessageException>(() => EffectRunnerPayloads.ReadRequest(Encoding.UTF8.GetBytes(payload)));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEnvelopePayloadCarriesAnInterrupt()
    {
        var envelope = EffectRunnerPayloads.ReadEnvelope(Encoding.UTF8.GetBytes(
            """{"envelope":{"_tag":"Interrupt","id":"11","address":""" + AddressJson + ""","requestId":"10"},"persisted":false}"""));

        Assert.Equal(new EffectEnvelope(EffectEnvelopeKind.Interrupt, 10, Address, false), envelope);
    }

    [Theory]
    [InlineData((byte)'{', "EffectNdjson")]
    [InlineData(0x00, "Native")]
    [InlineData(0x16, "Native")]
    [InlineData(0x83, "Unknown")]   // Effect's default msgpack serialization (a map)
    [InlineData((byte)'G', "Unknown")]
    public void TheFirstByteTellsTheProtocol(byte first, string protocol) =>
        Assert.Equal(Enum.Parse<ConnectionProtocol>(protocol), ConnectionProtocolSniffer.Classify(first, 4 * 1024 * 1024));

    [Fact]
    public void ClientLinesHaveEffectsShapes()
    {
        var envelope = new Envelope(1, Address, "CountTo", Cluster.Entities.RpcKind.Stream, """{"n":3}"""u8.ToArray(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null);

        Assert.Equal("""{"_tag":"Request","id":4,"tag":"Stream","payload":{"request":{"_tag":"Request","requestId":"77","address":""" + AddressJson
            + ""","tag":"CountTo","payload":{"n":3},"headers":{},"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","sampled":true},"persisted":false},"headers":[]}""" + "\n",
            Text(EffectClientRequests.EntityRequest(4, "Stream", 77, envelope)));
        Assert.Equal("""{"_tag":"Request","id":5,"tag":"Envelope","payload":{"envelope":{"_tag":"AckChunk","id":"90","address":""" + AddressJson
            + ""","requestId":"77","replyId":"88"},"persisted":false},"headers":[]}""" + "\n",
            Text(EffectClientRequests.AckChunk(5, 90, envelope, 77, 88)));
        Assert.Equal("""{"_tag":"Request","id":6,"tag":"Ping","payload":null,"headers":[]}""" + "\n", Text(EffectClientRequests.PingRpc(6)));
        Assert.Equal("""{"_tag":"Ack","requestId":4}""" + "\n", Text(EffectClientRequests.Ack(4)));
        Assert.Equal("""{"_tag":"Interrupt","requestId":4}""" + "\n", Text(EffectClientRequests.Interrupt(4)));
    }

    [Fact]
    public void AClientReadsExitsAsValuesOrTheNativeExceptions()
    {
        Assert.Equal("6", Encoding.UTF8.GetString(EffectExits.ValueOrThrow("""{"_tag":"Success","value":6}"""u8.ToArray()).Span));
        var notAssigned = Assert.IsType<EntityNotAssignedToRunnerException>(EffectExits.Failure(
            Encoding.UTF8.GetBytes("""{"_tag":"Failure","cause":[{"_tag":"Fail","error":{"_tag":"EntityNotAssignedToRunner","address":""" + AddressJson + "}}]}")));
        Assert.Equal(Address, notAssigned.Address);
        var died = Assert.IsType<EntityHandlerException>(EffectExits.Failure("""{"_tag":"Failure","cause":[{"_tag":"Die","defect":{"name":"Error","message":"x"}}]}"""u8.ToArray()));
        Assert.Equal(("Error", "x"), (died.ErrorType, died.Message));
        Assert.IsType<OperationCanceledException>(EffectExits.Failure("""{"_tag":"Failure","cause":[{"_tag":"Interrupt","fiberId":null}]}"""u8.ToArray()));
        Assert.True(EffectReplyReader.IsWithExit("""{"_tag":"WithExit","requestId":"1","id":"2","exit":{"_tag":"Success","value":null}}"""u8.ToArray(), out _, out var replyId));
        Assert.Equal(2, replyId);
    }
}
