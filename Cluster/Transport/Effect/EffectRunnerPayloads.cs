using System.Globalization;
using System.Text.Json;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Reads the payloads of the <c>Runners.Rpcs</c> group (§4.2, §4.5): <c>{request: PartialRequest, persisted}</c> of
/// <c>Effect</c> and <c>Stream</c>, <c>{envelope, persisted}</c> of <c>Envelope</c> and <c>Notify</c>. Snowflakes are
/// decimal strings (numbers are taken too). Anything missing or of the wrong type is a <see cref="MalformedMessageException"/>.
/// </summary>
internal static class EffectRunnerPayloads
{
    /// <summary>The request and persisted flag of an <c>Effect</c> or <c>Stream</c> RPC.</summary>
    public static (EffectPartialRequest Request, bool Persisted) ReadRequest(ReadOnlyMemory<byte> payload) => ReadRequest(payload, "request");

    /// <summary>The request and persisted flag of a <c>Notify</c> RPC whose envelope is a whole request.</summary>
    public static (EffectPartialRequest Request, bool Persisted) ReadNotifiedRequest(ReadOnlyMemory<byte> payload) => ReadRequest(payload, "envelope");

    private static (EffectPartialRequest Request, bool Persisted) ReadRequest(ReadOnlyMemory<byte> payload, string field)
    {
        EffectPartialRequest? request = null;
        bool? persisted = null;
        var reader = Start(payload, "The RPC payload");
        try
        {
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals(field))
                {
                    reader.Read();
                    request = ReadPartialRequest(payload, ref reader);
                }
                else if (reader.ValueTextEquals("persisted"u8))
                {
                    reader.Read();
                    persisted = ReadBoolean(ref reader, "persisted");
                }
                else
                {
                    SkipValue(ref reader);
                }
            }
        }
        catch (JsonException ex)
        {
            throw new MalformedMessageException($"Undecodable payload: {ex.Message}", ex);
        }

        return (request ?? throw Missing(field), persisted ?? throw Missing("persisted"));
    }

    /// <summary>The envelope and persisted flag of an <c>Envelope</c> or <c>Notify</c> RPC (a Notify without the flag is persisted).</summary>
    public static EffectEnvelope ReadEnvelope(ReadOnlyMemory<byte> payload)
    {
        (EffectEnvelopeKind Kind, long RequestId, EntityAddress Address)? envelope = null;
        bool? persisted = null;
        var reader = Start(payload, "The Envelope payload");
        try
        {
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("envelope"u8))
                {
                    reader.Read();
                    envelope = ReadEnvelopeValue(ref reader);
                }
                else if (reader.ValueTextEquals("persisted"u8))
                {
                    reader.Read();
                    persisted = ReadBoolean(ref reader, "persisted");
                }
                else
                {
                    SkipValue(ref reader);
                }
            }
        }
        catch (JsonException ex)
        {
            throw new MalformedMessageException($"Undecodable payload: {ex.Message}", ex);
        }

        var (kind, requestId, address) = envelope ?? throw Missing("envelope");
        return new EffectEnvelope(kind, requestId, address, persisted ?? true);
    }

    private static EffectPartialRequest ReadPartialRequest(ReadOnlyMemory<byte> payload, ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject, "request");
        long? requestId = null;
        EntityAddress? address = null;
        string? tag = null, traceId = null, spanId = null, kind = null;
        bool? sampled = null;
        ReadOnlyMemory<byte>? body = null;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("_tag"u8))
            {
                reader.Read();
                kind = ReadString(ref reader, "request._tag");
            }
            else if (reader.ValueTextEquals("requestId"u8))
            {
                reader.Read();
                requestId = ReadSnowflake(ref reader, "request.requestId");
            }
            else if (reader.ValueTextEquals("address"u8))
            {
                reader.Read();
                address = ReadAddress(ref reader);
            }
            else if (reader.ValueTextEquals("tag"u8))
            {
                reader.Read();
                tag = ReadString(ref reader, "request.tag");
            }
            else if (reader.ValueTextEquals("payload"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                body = payload[start..(int)reader.BytesConsumed];
            }
            else if (reader.ValueTextEquals("traceId"u8))
            {
                reader.Read();
                traceId = ReadString(ref reader, "request.traceId");
            }
            else if (reader.ValueTextEquals("spanId"u8))
            {
                reader.Read();
                spanId = ReadString(ref reader, "request.spanId");
            }
            else if (reader.ValueTextEquals("sampled"u8))
            {
                reader.Read();
                sampled = ReadBoolean(ref reader, "request.sampled");
            }
            else
            {
                SkipValue(ref reader); // headers: the runtime keeps its trace context in traceId/spanId
            }
        }

        if (kind != "Request")
        {
            throw new MalformedMessageException($"request._tag must be \"Request\", not {(kind is null ? "missing" : $"\"{kind}\"")}.");
        }

        return new EffectPartialRequest(
            requestId ?? throw Missing("request.requestId"), address ?? throw Missing("request.address"), tag ?? throw Missing("request.tag"),
            body ?? throw Missing("request.payload"), traceId, spanId, sampled);
    }

    private static (EffectEnvelopeKind, long, EntityAddress) ReadEnvelopeValue(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject, "envelope");
        string? kind = null;
        long? requestId = null;
        EntityAddress? address = null;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("_tag"u8))
            {
                reader.Read();
                kind = ReadString(ref reader, "envelope._tag");
            }
            else if (reader.ValueTextEquals("requestId"u8))
            {
                reader.Read();
                requestId = ReadSnowflake(ref reader, "envelope.requestId");
            }
            else if (reader.ValueTextEquals("address"u8))
            {
                reader.Read();
                address = ReadAddress(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        var envelopeKind = kind switch
        {
            "Request" => EffectEnvelopeKind.Request,
            "AckChunk" => EffectEnvelopeKind.AckChunk,
            "Interrupt" => EffectEnvelopeKind.Interrupt,
            _ => throw new MalformedMessageException($"envelope._tag must be Request, AckChunk or Interrupt, not {kind ?? "missing"}."),
        };
        return (envelopeKind, requestId ?? throw Missing("envelope.requestId"), address ?? throw Missing("envelope.address"));
    }

    private static EntityAddress ReadAddress(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject, "address");
        string? entityType = null, entityId = null, group = null;
        int? shard = null;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("entityType"u8))
            {
                reader.Read();
                entityType = ReadString(ref reader, "address.entityType");
            }
            else if (reader.ValueTextEquals("entityId"u8))
            {
                reader.Read();
                entityId = ReadString(ref reader, "address.entityId");
            }
            else if (reader.ValueTextEquals("shardId"u8))
            {
                reader.Read();
                Expect(ref reader, JsonTokenType.StartObject, "address.shardId");
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("group"u8))
                    {
                        reader.Read();
                        group = ReadString(ref reader, "address.shardId.group");
                    }
                    else if (reader.ValueTextEquals("id"u8))
                    {
                        reader.Read();
                        shard = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n) ? n : throw WrongType("address.shardId.id", "an integer");
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return new EntityAddress(
            entityType ?? throw Missing("address.entityType"), entityId ?? throw Missing("address.entityId"),
            new ShardId(group ?? throw Missing("address.shardId.group"), shard ?? throw Missing("address.shardId.id")));
    }

    private static Utf8JsonReader Start(ReadOnlyMemory<byte> payload, string what)
    {
        var reader = new Utf8JsonReader(payload.Span);
        try
        {
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                return reader;
            }
        }
        catch (JsonException ex)
        {
            throw new MalformedMessageException($"Undecodable payload: {ex.Message}", ex);
        }

        throw new MalformedMessageException($"{what} must be a JSON object.");
    }

    /// <summary>Moves to the next property name of the current object; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader) => reader.Read() && reader.TokenType == JsonTokenType.PropertyName;

    private static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string field)
    {
        if (reader.TokenType != type)
        {
            throw WrongType(field, "an object");
        }
    }

    private static string ReadString(ref Utf8JsonReader reader, string field) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw WrongType(field, "a string");

    private static bool ReadBoolean(ref Utf8JsonReader reader, string field) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw WrongType(field, "a boolean"),
    };

    /// <summary>A snowflake: a decimal string (Effect's JSON form of a bigint), or a number.</summary>
    private static long ReadSnowflake(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType == JsonTokenType.String
            && long.TryParse(reader.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number)
            ? number
            : throw WrongType(field, "a snowflake id (a decimal string)");
    }

    private static MalformedMessageException Missing(string field) => new($"Expected {field}, but it is missing.");

    private static MalformedMessageException WrongType(string field, string expected) => new($"Expected {field} to be {expected}.");
}
