using System.Globalization;
using System.Text.Json;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Effect's <c>Reply.Encoded</c>, the value an <c>Effect</c> RPC succeeds with and a <c>Stream</c> RPC's elements:
/// <c>{_tag:"WithExit", requestId, id, exit}</c> (the entity RPC's outcome) and
/// <c>{_tag:"Chunk", requestId, id, sequence, values}</c> (a stream's items). Ids are snowflakes as decimal strings.
/// </summary>
internal static class EffectReplies
{
    /// <summary>A <c>WithExit</c> whose exit succeeds with the JSON <paramref name="writeValue"/> writes.</summary>
    public static PooledBytes WithExitSuccess<TState>(long requestId, long replyId, TState state, Action<Utf8JsonWriter, TState> writeValue) =>
        EffectJsonLine.BuildValue((requestId, replyId, state, writeValue), static (writer, s) =>
        {
            WriteStart(writer, "WithExit"u8, s.requestId, s.replyId);
            writer.WriteStartObject("exit"u8);
            writer.WriteString("_tag"u8, "Success"u8);
            writer.WritePropertyName("value"u8);
            s.writeValue(writer, s.state);
            writer.WriteEndObject();
            writer.WriteEndObject();
        });

    /// <summary>A <c>WithExit</c> whose exit succeeds with <c>null</c> (a tell's outcome, a stream's end).</summary>
    public static PooledBytes WithExitVoid(long requestId, long replyId) =>
        WithExitSuccess(requestId, replyId, 0, static (writer, _) => writer.WriteNullValue());

    /// <summary>A <c>WithExit</c> whose exit fails (the handler failed, or the request was interrupted).</summary>
    public static PooledBytes WithExitFailure(long requestId, long replyId, EffectFailure failure) =>
        EffectJsonLine.BuildValue((requestId, replyId, failure), static (writer, s) =>
        {
            WriteStart(writer, "WithExit"u8, s.requestId, s.replyId);
            writer.WritePropertyName("exit"u8);
            EffectServerFrames.WriteFailureExit(writer, s.failure);
            writer.WriteEndObject();
        });

    /// <summary>A <c>Chunk</c> with one item, the JSON <paramref name="writeValue"/> writes.</summary>
    public static PooledBytes Chunk<TState>(long requestId, long replyId, int sequence, TState state, Action<Utf8JsonWriter, TState> writeValue) =>
        EffectJsonLine.BuildValue((requestId, replyId, sequence, state, writeValue), static (writer, s) =>
        {
            WriteStart(writer, "Chunk"u8, s.requestId, s.replyId);
            writer.WriteNumber("sequence"u8, s.sequence);
            writer.WriteStartArray("values"u8);
            s.writeValue(writer, s.state);
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    private static void WriteStart(Utf8JsonWriter writer, ReadOnlySpan<byte> tag, long requestId, long replyId)
    {
        writer.WriteStartObject();
        writer.WriteString("_tag"u8, tag);
        writer.WriteString("requestId"u8, requestId.ToString(CultureInfo.InvariantCulture));
        writer.WriteString("id"u8, replyId.ToString(CultureInfo.InvariantCulture));
    }
}
