using System.Text.Json;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The frames an Effect RPC server sends (<c>FromServerEncoded</c>), each one ndjson line:
/// <c>{_tag:"Pong"}</c>, <c>{_tag:"Exit", requestId, exit}</c>, <c>{_tag:"Chunk", requestId, values}</c>, <c>{_tag:"Defect", defect}</c>.
/// Values inside them (an RPC's success value, a chunk's element) are JSON already written, copied in as they are.
/// </summary>
internal static class EffectServerFrames
{
    private static readonly byte[] PongLine = "{\"_tag\":\"Pong\"}\n"u8.ToArray();

    /// <summary>The Pong line (shared; not pooled).</summary>
    public static ReadOnlyMemory<byte> Pong => PongLine;

    /// <summary><c>{_tag:"Exit", requestId, exit:{_tag:"Success", value}}</c> with <paramref name="value"/> as raw JSON (empty: <c>null</c>).</summary>
    public static PooledBytes ExitSuccess(EffectRequestId id, ReadOnlyMemory<byte> value) =>
        EffectJsonLine.Build((id, value), static (writer, s) =>
        {
            WriteExitStart(writer, s.id);
            writer.WriteStartObject("exit"u8);
            writer.WriteString("_tag"u8, "Success"u8);
            writer.WritePropertyName("value"u8);
            writer.WriteRawValue(s.value.IsEmpty ? "null"u8 : s.value.Span, skipInputValidation: true);
            writer.WriteEndObject();
            writer.WriteEndObject();
        });

    /// <summary><c>{_tag:"Exit", requestId, exit:{_tag:"Failure", cause:[…]}}</c>.</summary>
    public static PooledBytes ExitFailure(EffectRequestId id, EffectFailure failure) =>
        EffectJsonLine.Build((id, failure), static (writer, s) =>
        {
            WriteExitStart(writer, s.id);
            writer.WritePropertyName("exit"u8);
            WriteFailureExit(writer, s.failure);
            writer.WriteEndObject();
        });

    /// <summary><c>{_tag:"Chunk", requestId, values:[value]}</c> with <paramref name="value"/> as raw JSON.</summary>
    public static PooledBytes Chunk(EffectRequestId id, ReadOnlyMemory<byte> value) =>
        EffectJsonLine.Build((id, value), static (writer, s) =>
        {
            writer.WriteStartObject();
            writer.WriteString("_tag"u8, "Chunk"u8);
            writer.WritePropertyName("requestId"u8);
            s.id.WriteTo(writer);
            writer.WriteStartArray("values"u8);
            writer.WriteRawValue(s.value.Span, skipInputValidation: true);
            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    /// <summary><c>{_tag:"Defect", defect}</c>: a connection-level failure (Effect's client fails every pending request on it).</summary>
    public static PooledBytes Defect(EffectDefect defect) =>
        EffectJsonLine.Build(defect, static (writer, d) =>
        {
            writer.WriteStartObject();
            writer.WriteString("_tag"u8, "Defect"u8);
            writer.WritePropertyName("defect"u8);
            d.WriteTo(writer);
            writer.WriteEndObject();
        });

    /// <summary>An <c>ExitEncoded</c> failure with one cause: <c>{_tag:"Failure", cause:[{_tag:"Fail"|"Die"|"Interrupt", …}]}</c>.</summary>
    public static void WriteFailureExit(Utf8JsonWriter writer, EffectFailure failure)
    {
        writer.WriteStartObject();
        writer.WriteString("_tag"u8, "Failure"u8);
        writer.WriteStartArray("cause"u8);
        writer.WriteStartObject();
        switch (failure.Kind)
        {
            case EffectFailureKind.Fail:
                writer.WriteString("_tag"u8, "Fail"u8);
                writer.WritePropertyName("error"u8);
                EffectClusterErrors.Write(writer, failure.Error!);
                break;
            case EffectFailureKind.Die:
                writer.WriteString("_tag"u8, "Die"u8);
                writer.WritePropertyName("defect"u8);
                failure.Defect.WriteTo(writer);
                break;
            default:
                writer.WriteString("_tag"u8, "Interrupt"u8);
                writer.WriteNull("fiberId"u8);
                break;
        }

        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteExitStart(Utf8JsonWriter writer, EffectRequestId id)
    {
        writer.WriteStartObject();
        writer.WriteString("_tag"u8, "Exit"u8);
        writer.WritePropertyName("requestId"u8);
        id.WriteTo(writer);
    }
}
