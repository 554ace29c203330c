using System.Text;
using System.Text.Json;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Reads one client line (<c>FromClientEncoded</c>) in one pass over its bytes; a request's payload stays raw JSON, a
/// slice of the line. Problems are <see cref="EffectProtocolException"/>s carrying Effect's own wording
/// (<c>Unknown request tag: …</c>, <c>Invalid request id: …</c>), so an Effect client sees what an Effect server would send.
/// </summary>
internal static class EffectClientFrameDecoder
{
    public static EffectClientFrame Decode(ReadOnlyMemory<byte> line)
    {
        string? frameTag = null, tag = null;
        EffectRequestId? id = null, requestId = null;
        var idText = "undefined";
        ReadOnlyMemory<byte> payload = default;
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
                    frameTag = reader.TokenType == JsonTokenType.String ? reader.GetString() : Raw(line, ref reader);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = EffectRequestId.TryRead(ref reader, out var value) ? value : null;
                    idText = id?.ToString() ?? Raw(line, ref reader);
                }
                else if (reader.ValueTextEquals("requestId"u8))
                {
                    reader.Read();
                    requestId = EffectRequestId.TryRead(ref reader, out var value) ? value : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("tag"u8))
                {
                    reader.Read();
                    tag = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("payload"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    payload = line[start..(int)reader.BytesConsumed];
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.Read())
            {
                throw new EffectProtocolException("A frame is one JSON object per line; the line goes on after it.");
            }
        }
        catch (JsonException ex)
        {
            throw new EffectProtocolException($"Undecodable frame: {ex.Message}");
        }

        switch (frameTag)
        {
            case "Request":
                if (id is not { } requestIdOfRequest)
                {
                    throw new EffectProtocolException($"Invalid request id: {idText}");
                }

                if (tag is null)
                {
                    throw new EffectProtocolException("Unknown request tag: ", requestIdOfRequest);
                }

                return new EffectClientFrame(EffectClientFrameKind.Request, requestIdOfRequest, tag, payload);
            case "Ack":
                return new EffectClientFrame(EffectClientFrameKind.Ack, requestId ?? throw InvalidRequestId(frameTag), null, default);
            case "Interrupt":
                return new EffectClientFrame(EffectClientFrameKind.Interrupt, requestId ?? throw InvalidRequestId(frameTag), null, default);
            case "Ping":
                return new EffectClientFrame(EffectClientFrameKind.Ping, default, null, default);
            case "Eof":
                return new EffectClientFrame(EffectClientFrameKind.Eof, default, null, default);
            default:
                throw new EffectProtocolException($"Unknown request tag: {frameTag ?? "undefined"}");
        }
    }

    private static EffectProtocolException InvalidRequestId(string frameTag) =>
        new($"Invalid request id: an {frameTag} frame needs a requestId that is a number or a string.");

    /// <summary>The raw text of the value at the reader (for messages about a value of the wrong type).</summary>
    private static string Raw(ReadOnlyMemory<byte> line, ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var raw = line.Span[start..(int)reader.BytesConsumed];
        return Encoding.UTF8.GetString(raw.Length > 64 ? raw[..64] : raw);
    }
}
