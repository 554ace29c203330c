using System.Text.Json;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Reads a <c>Reply.Encoded</c> on the client side: a <c>WithExit</c>'s exit, or a <c>Chunk</c>'s items (raw JSON slices).
/// </summary>
internal static class EffectReplyReader
{
    /// <summary>Whether <paramref name="reply"/> is a <c>WithExit</c> (then <paramref name="body"/> is its exit) or a <c>Chunk</c> (its values array).</summary>
    public static bool IsWithExit(ReadOnlyMemory<byte> reply, out ReadOnlyMemory<byte> body) => IsWithExit(reply, out body, out _);

    /// <summary>As <see cref="IsWithExit(ReadOnlyMemory{byte}, out ReadOnlyMemory{byte})"/>, with the reply's snowflake id (0 when absent).</summary>
    public static bool IsWithExit(ReadOnlyMemory<byte> reply, out ReadOnlyMemory<byte> body, out long replyId)
    {
        string? tag = null;
        body = default;
        replyId = 0;
        try
        {
            var reader = new Utf8JsonReader(reply.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new MalformedMessageException("A reply must be a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("_tag"u8))
                {
                    reader.Read();
                    tag = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("exit"u8) || reader.ValueTextEquals("values"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    body = reply[start..(int)reader.BytesConsumed];
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    _ = reader.TokenType == JsonTokenType.String && long.TryParse(reader.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out replyId);
                    reader.Skip();
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
            throw new MalformedMessageException($"Undecodable reply: {ex.Message}", ex);
        }

        return tag switch
        {
            "WithExit" => true,
            "Chunk" => false,
            _ => throw new MalformedMessageException($"A reply is a WithExit or a Chunk, not {tag ?? "untagged"}."),
        };
    }

    /// <summary>The elements of a JSON array, each as raw JSON (slices of <paramref name="array"/>).</summary>
    public static List<ReadOnlyMemory<byte>> Elements(ReadOnlyMemory<byte> array)
    {
        var items = new List<ReadOnlyMemory<byte>>();
        try
        {
            var reader = new Utf8JsonReader(array.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new MalformedMessageException("Expected a JSON array.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                items.Add(array[start..(int)reader.BytesConsumed]);
            }
        }
        catch (JsonException ex)
        {
            throw new MalformedMessageException($"Undecodable array: {ex.Message}", ex);
        }

        return items;
    }
}
