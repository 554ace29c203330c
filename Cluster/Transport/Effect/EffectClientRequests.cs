using System.Globalization;
using System.Text.Json;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>The lines an Effect RPC client sends (<c>FromClientEncoded</c>), for a C# node calling runners over Effect's protocol.</summary>
internal static class EffectClientRequests
{
    private static readonly byte[] KeepAliveLine = "{\"_tag\":\"Ping\"}\n"u8.ToArray();

    /// <summary>The keep-alive <c>{_tag:"Ping"}</c> (shared; not pooled).</summary>
    public static ReadOnlyMemory<byte> KeepAlive => KeepAliveLine;

    /// <summary>
    /// An <c>Effect</c> or <c>Stream</c> RPC carrying <paramref name="envelope"/> as a volatile PartialRequest with the snowflake
    /// <paramref name="requestId"/>; the envelope's payload is already the entity message's JSON.
    /// </summary>
    public static PooledBytes EntityRequest(long rpcId, string rpcTag, long requestId, in Envelope envelope) =>
        EffectJsonLine.Build((rpcId, rpcTag, requestId, envelope), static (writer, s) =>
        {
            WriteRequestStart(writer, s.rpcId, s.rpcTag);
            writer.WriteStartObject("payload"u8);
            writer.WriteStartObject("request"u8);
            writer.WriteString("_tag"u8, "Request"u8);
            writer.WriteString("requestId"u8, s.requestId.ToString(CultureInfo.InvariantCulture));
            EffectClusterErrors.WriteAddress(writer, s.envelope.Address);
            writer.WriteString("tag"u8, s.envelope.Tag);
            writer.WritePropertyName("payload"u8);
            writer.WriteRawValue(s.envelope.Payload.IsEmpty ? "null"u8 : s.envelope.Payload.Span, skipInputValidation: true);
            writer.WriteStartObject("headers"u8);
            writer.WriteEndObject();
            // traceparent = 00-<32 hex trace id>-<16 hex span id>-<flags>
            if (s.envelope.TraceParent is { Length: 55 } traceParent)
            {
                writer.WriteString("traceId"u8, traceParent.AsSpan(3, 32));
                writer.WriteString("spanId"u8, traceParent.AsSpan(36, 16));
                writer.WriteBoolean("sampled"u8, traceParent.EndsWith("01", StringComparison.Ordinal));
            }

            writer.WriteEndObject();
            writer.WriteBoolean("persisted"u8, false);
            writer.WriteEndObject();
            writer.WriteStartArray("headers"u8);
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    /// <summary>
    /// An <c>Envelope</c> RPC with an <c>AckChunk</c> (<c>{_tag:"AckChunk", id, address, requestId, replyId}</c>): Effect's
    /// entity managers send a stream's next chunk only once the sender acknowledged the previous one this way.
    /// </summary>
    public static PooledBytes AckChunk(long rpcId, long envelopeId, in Envelope request, long requestId, long replyId) =>
        EffectJsonLine.Build((rpcId, envelopeId, request.Address, requestId, replyId), static (writer, s) =>
        {
            WriteRequestStart(writer, s.rpcId, "Envelope");
            writer.WriteStartObject("payload"u8);
            writer.WriteStartObject("envelope"u8);
            writer.WriteString("_tag"u8, "AckChunk"u8);
            writer.WriteString("id"u8, s.envelopeId.ToString(CultureInfo.InvariantCulture));
            EffectClusterErrors.WriteAddress(writer, s.Address);
            writer.WriteString("requestId"u8, s.requestId.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("replyId"u8, s.replyId.ToString(CultureInfo.InvariantCulture));
            writer.WriteEndObject();
            writer.WriteBoolean("persisted"u8, false);
            writer.WriteEndObject();
            writer.WriteStartArray("headers"u8);
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    /// <summary>The <c>Ping</c> RPC (<c>payload: null</c>), answered with <c>Exit Success null</c>.</summary>
    public static PooledBytes PingRpc(long rpcId) =>
        EffectJsonLine.Build(rpcId, static (writer, id) =>
        {
            WriteRequestStart(writer, id, "Ping");
            writer.WriteNull("payload"u8);
            writer.WriteStartArray("headers"u8);
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    /// <summary><c>{_tag:"Ack", requestId}</c>: the chunk was taken; the server may send the next.</summary>
    public static PooledBytes Ack(long rpcId) => Control("Ack", rpcId);

    /// <summary><c>{_tag:"Interrupt", requestId}</c>: the caller gave up.</summary>
    public static PooledBytes Interrupt(long rpcId) => Control("Interrupt", rpcId);

    private static PooledBytes Control(string tag, long rpcId) =>
        EffectJsonLine.Build((tag, rpcId), static (writer, s) =>
        {
            writer.WriteStartObject();
            writer.WriteString("_tag"u8, s.tag);
            writer.WriteNumber("requestId"u8, s.rpcId);
            writer.WriteEndObject();
        });

    private static void WriteRequestStart(Utf8JsonWriter writer, long rpcId, string rpcTag)
    {
        writer.WriteStartObject();
        writer.WriteString("_tag"u8, "Request"u8);
        writer.WriteNumber("id"u8, rpcId);
        writer.WriteString("tag"u8, rpcTag);
    }
}
