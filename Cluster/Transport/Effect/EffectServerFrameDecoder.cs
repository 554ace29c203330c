using System.Text.Json;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>Reads one server line (<c>FromServerEncoded</c>) on the client side of Effect's protocol; values stay raw JSON.</summary>
internal static class EffectServerFrameDecoder
{
    /// <summary>The frame; throws <see cref="EffectProtocolException"/> for a line that is not one.</summary>
    public static EffectServerFrame Decode(ReadOnlyMemory<byte> line)
    {
        string? tag = null;
        EffectRequestId? requestId = null;
        ReadOnlyMemory<byte> body = default;
        try
        {
            var reader = new Utf8JsonReader(line.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new EffectProtocolException("A frame must be a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("_tag"u8))
                {
                    reader.Read();
                    tag = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("requestId"u8))
                {
                    reader.Read();
                    requestId = EffectRequestId.TryRead(ref reader, out var id) ? id : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("exit"u8) || reader.ValueTextEquals("values"u8) || reader.ValueTextEquals("defect"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    body = line[start..(int)reader.BytesConsumed];
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException ex)
        {
            throw new EffectProtocolException($"Undecodable frame from the runner: {ex.Message}");
        }

        return tag switch
        {
            "Exit" or "Chunk" when requestId is null => throw new EffectProtocolException($"A {tag} frame without a requestId."),
            "Exit" => new EffectServerFrame(EffectServerFrameKind.Exit, requestId!.Value, body),
            "Chunk" => new EffectServerFrame(EffectServerFrameKind.Chunk, requestId!.Value, body),
            "Defect" => new EffectServerFrame(EffectServerFrameKind.Defect, default, body),
            "Pong" => new EffectServerFrame(EffectServerFrameKind.Pong, default, default),
            _ => throw new EffectProtocolException($"Unknown server frame tag: {tag ?? "undefined"}"),
        };
    }
}
