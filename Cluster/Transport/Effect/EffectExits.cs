using System.Text.Json;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Reads an Effect <c>ExitEncoded</c> on the client side: the success value as raw JSON, or the failure as the exception
/// a native call would raise (cluster errors by tag as their typed exceptions, so senders retry them; a defect as
/// <see cref="EntityHandlerException"/>; an interrupt as <see cref="OperationCanceledException"/>).
/// </summary>
internal static class EffectExits
{
    /// <summary>The success value of <paramref name="exit"/> (a slice of it), or throws its failure.</summary>
    public static ReadOnlyMemory<byte> ValueOrThrow(ReadOnlyMemory<byte> exit)
    {
        string? tag = null;
        ReadOnlyMemory<byte> value = "null"u8.ToArray();
        try
        {
            var reader = new Utf8JsonReader(exit.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new MalformedMessageException("An exit must be a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("_tag"u8))
                {
                    reader.Read();
                    tag = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("value"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    value = exit[start..(int)reader.BytesConsumed];
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
            throw new MalformedMessageException($"Undecodable exit: {ex.Message}", ex);
        }

        return tag switch
        {
            "Success" => value,
            "Failure" => throw Failure(exit),
            _ => throw new MalformedMessageException($"An exit is a Success or a Failure, not {tag ?? "untagged"}."),
        };
    }

    /// <summary>The exception of a failed exit (its first cause; Effect's runner RPCs fail with one).</summary>
    public static Exception Failure(ReadOnlyMemory<byte> exit)
    {
        using var document = JsonDocument.Parse(exit);
        if (!document.RootElement.TryGetProperty("cause", out var causes) || causes.ValueKind != JsonValueKind.Array || causes.GetArrayLength() == 0)
        {
            return new EntityHandlerException("Failure", "The remote request failed without a cause.");
        }

        var cause = causes[0];
        var kind = cause.TryGetProperty("_tag", out var k) ? k.GetString() : null;
        return kind switch
        {
            "Interrupt" => new OperationCanceledException("The request was interrupted on the Effect runner."),
            "Fail" when cause.TryGetProperty("error", out var error) => FromError(error),
            "Die" when cause.TryGetProperty("defect", out var defect) => FromDefect(defect),
            _ => new EntityHandlerException("Failure", cause.GetRawText()),
        };
    }

    /// <summary>A defect as Effect encodes it: <c>{name, message}</c> or any JSON value.</summary>
    public static EntityHandlerException FromDefect(JsonElement defect) =>
        defect.ValueKind == JsonValueKind.Object && defect.TryGetProperty("message", out var message)
            ? new EntityHandlerException(defect.TryGetProperty("name", out var name) ? name.GetString() ?? "Error" : "Error", Describe(message.GetString(), defect))
            : new EntityHandlerException("Defect", defect.ValueKind == JsonValueKind.String ? defect.GetString()! : defect.GetRawText());

    /// <summary>A defect's message, or its cause's when it has none (Effect's MalformedMessage carries only a cause).</summary>
    private static string Describe(string? message, JsonElement defect)
    {
        if (!string.IsNullOrEmpty(message))
        {
            return message;
        }

        return defect.TryGetProperty("cause", out var cause)
            ? cause.ValueKind == JsonValueKind.Object && cause.TryGetProperty("message", out var inner)
                ? $"{(cause.TryGetProperty("name", out var n) ? n.GetString() : "Error")}: {inner.GetString()}"
                : cause.GetRawText()
            : defect.GetRawText();
    }

    private static Exception FromError(JsonElement error)
    {
        var tag = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("_tag", out var t) ? t.GetString() : null;
        return tag switch
        {
            "EntityNotAssignedToRunner" => new EntityNotAssignedToRunnerException(Address(error)),
            "MailboxFull" => new MailboxFullException(Address(error)),
            "AlreadyProcessingMessage" => new AlreadyProcessingMessageException(Address(error),
                error.TryGetProperty("envelopeId", out var id) && long.TryParse(id.GetString(), out var envelopeId) ? envelopeId : 0),
            "RunnerUnavailable" => new RunnerUnavailableException(error.GetRawText()),
            "PersistenceError" => new PersistenceException(error.GetRawText()),
            "MalformedMessage" => new MalformedMessageException(error.GetRawText()),
            _ => new EntityHandlerException(tag ?? "Error", error.GetRawText()), // an entity RPC's typed error
        };
    }

    private static EntityAddress Address(JsonElement error)
    {
        if (error.TryGetProperty("address", out var a)
            && a.TryGetProperty("shardId", out var shard) && shard.TryGetProperty("group", out var group) && shard.TryGetProperty("id", out var id)
            && a.TryGetProperty("entityType", out var type) && a.TryGetProperty("entityId", out var entityId))
        {
            return new EntityAddress(type.GetString()!, entityId.GetString()!, new ShardId(group.GetString()!, id.GetInt32()));
        }

        return new EntityAddress("?", "?", new ShardId("?", 1));
    }
}
