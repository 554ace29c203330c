using System.Text.Json;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The id of an RPC on one Effect protocol connection: a number (Effect's runner client counts them) or a string.
/// Echoed back exactly as it came.
/// </summary>
internal readonly record struct EffectRequestId(long Number, string? Text)
{
    /// <summary>Whether the id was a JSON string.</summary>
    public bool IsText => Text is not null;

    /// <summary>Reads an id at the reader's current token; false when it is neither an integer nor a string.</summary>
    public static bool TryRead(ref Utf8JsonReader reader, out EffectRequestId id)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number when reader.TryGetInt64(out var number):
                id = new EffectRequestId(number, null);
                return true;
            case JsonTokenType.String:
                id = new EffectRequestId(0, reader.GetString()!);
                return true;
            default:
                id = default;
                return false;
        }
    }

    /// <summary>Writes the id as it was received.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        if (Text is not null)
        {
            writer.WriteStringValue(Text);
        }
        else
        {
            writer.WriteNumberValue(Number);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Text ?? Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
