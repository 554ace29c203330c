using System.Text;
using System.Text.Json;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Effect;

/// <summary>An RPC binding reads its request from, and writes its reply as, the JSON an Effect peer sends and reads.</summary>
public sealed class EntityJsonCodecTests
{
    private static RpcBinding Rpc(string tag)
    {
        var builder = new ClusterBuilder();
        builder.AddEntity(context => new CounterEntity(context, new Probe()), CounterEntity.Configure);
        Assert.True(builder.Entities.Single().TryGetRpc(tag, out var rpc));
        return rpc;
    }

    private static string Reply(RpcBinding rpc, object? reply)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            rpc.SerializeJsonReply(ClusterSerializer.Default, writer, reply);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void ACamelCasePayloadBecomesTheRequestRecordAndTheReplyPlainJson()
    {
        var rpc = Rpc("Deposit");

        Assert.Equal(new Deposit("k", 5), rpc.DeserializeJsonRequest(ClusterSerializer.Default, """{"key":"k","amount":5}"""u8));
        Assert.Equal(new Deposit("k", 5), rpc.DeserializeJsonRequest(ClusterSerializer.Default, """{"Key":"k","AMOUNT":5}"""u8));
        Assert.Equal("6", Reply(rpc, 6));
    }

    [Fact]
    public void APayloadlessRequestReadsFromNullOrAnEmptyObject()
    {
        var rpc = Rpc("WhereAmI");
        Assert.IsType<WhereAmI>(rpc.DeserializeJsonRequest(ClusterSerializer.Default, "null"u8));
        Assert.IsType<WhereAmI>(rpc.DeserializeJsonRequest(ClusterSerializer.Default, "{}"u8));
        Assert.Equal("\"here\"", Reply(rpc, "here"));
    }

    [Fact]
    public void ATellRepliesNull() => Assert.Equal("null", Reply(Rpc("Reset"), null));

    [Theory]
    [InlineData("""{"key":"k","amount":"many"}""")]
    [InlineData("""[1]""")]
    [InlineData("""{"key":""")]
    public void AnUnreadablePayloadIsAMalformedMessage(string json)
    {
        var error = Assert.Throws<MalformedMessageException>(() => Rpc("Deposit").DeserializeJsonRequest(ClusterSerializer.Default, Encoding.UTF8.GetBytes(json)));
        Assert.Contains("Deposit", error.Message, StringComparison.Ordinal);
    }

    private sealed record NoFields;

    [Fact]
    public void AMessageWithoutFieldsIsWrittenAsNullAsEffectEncodesAVoidPayload()
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        ClusterSerializer.Default.SerializeJsonObject(output, new NoFields());
        Assert.Equal("null", Encoding.UTF8.GetString(output.WrittenSpan));

        output.Clear();
        ClusterSerializer.Default.SerializeJsonObject(output, new Interop.InteropIncrement(5));
        Assert.Equal("""{"amount":5}""", Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
