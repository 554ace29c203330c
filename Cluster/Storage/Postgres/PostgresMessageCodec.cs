using System.Text.Json;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>
/// How our requests and replies sit in the text columns of Effect's SQL message tables. Effect keeps JSON of its
/// schemas there; our payloads are the cluster serializer's bytes, so <c>payload</c> holds them in base64 (lossless;
/// an Effect runtime would not decode them, which is outside this storage's scope). <c>headers</c> is a JSON object
/// of strings, as Effect's, holding <c>traceparent</c> and <c>tracestate</c> exactly as sent; <c>trace_id</c>,
/// <c>span_id</c> and <c>sampled</c> are filled from a W3C traceparent too, as Effect fills them. A reply's
/// <c>payload</c> is the base64 of <see cref="PersistedReplyCodec"/> (flags, sequence, payload), since Effect's
/// columns have no place for the failure flag.
/// </summary>
internal static class PostgresMessageCodec
{
    /// <summary>Effect's column limits (migration 0002 widens entity_type to 150).</summary>
    public const int MaxTag = 50;
    public const int MaxEntityType = 150;
    public const int MaxEntityId = 255;
    public const int MaxMessageId = 255;
    public const int MaxShardId = 50;

    /// <summary>Throws <see cref="MalformedMessageException"/> when a field cannot fit Effect's columns (nothing is saved then); a primary key of any length fits (see <see cref="MessageId"/>).</summary>
    public static void CheckFits(PersistedRequest request)
    {
        Check(request.Tag, MaxTag, "tag");
        Check(request.Address.EntityType, MaxEntityType, "entity_type");
        Check(request.Address.EntityId, MaxEntityId, "entity_id");
        Check(request.Address.ShardId.ToString(), MaxShardId, "shard_id");
        if (request.StorageKey is { } key)
        {
            // Any length: a key longer than message_id holds is stored as its digest (MessageId), as Effect does.
            Check(key, int.MaxValue, "primary key");
        }

        static void Check(string value, int max, string column)
        {
            if (value.Length > max)
            {
                throw new MalformedMessageException($"The request's {column} has {value.Length} characters; PostgreSQL message storage keeps at most {max}.");
            }

            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw new MalformedMessageException($"The request's {column} contains a NUL character, which PostgreSQL text cannot hold.");
            }
        }
    }

    /// <summary>
    /// The <c>message_id</c> of a de-duplication key (<c>entityType/entityId/tag/primaryKey</c>), as Effect's
    /// <c>SqlMessageStorage</c> writes it: the key itself when it fits the column's 255 characters, else the lower case
    /// hex SHA-256 of its UTF-8 (64 characters, never containing the <c>/</c> every composed key has).
    /// </summary>
    public static string MessageId(string storageKey) => storageKey.Length <= MaxMessageId
        ? storageKey
        : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(storageKey)));

    /// <summary>
    /// The header (ours, in the headers JSON object) that keeps a primary key whose <c>message_id</c> is a digest, so a
    /// read request still has it; Effect keeps it in the payload instead.
    /// </summary>
    public const string PrimaryKeyHeader = "x-cluster-primary-key";

    public static string Headers(PersistedRequest request)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.StorageKey is { } key && MessageId(key) != key)
        {
            headers[PrimaryKeyHeader] = request.PrimaryKey!;
        }

        if (request.TraceParent is { } parent)
        {
            headers["traceparent"] = parent;
        }

        if (request.TraceState is { } state)
        {
            headers["tracestate"] = state;
        }

        return JsonSerializer.Serialize(headers);
    }

    /// <summary>trace_id, span_id and sampled of a W3C traceparent (<c>vv-trace-span-flags</c>); nulls when it is not one.</summary>
    public static (string? TraceId, string? SpanId, bool? Sampled) TraceColumns(string? traceParent)
    {
        var parts = traceParent?.Split('-');
        if (parts is not { Length: >= 4 } || parts[1].Length != 32 || parts[2].Length != 16 || parts[3].Length != 2
            || !byte.TryParse(parts[3], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var flags))
        {
            return (null, null, null);
        }

        return (parts[1], parts[2], (flags & 1) == 1);
    }

    public static string Payload(ReadOnlyMemory<byte> payload) => Convert.ToBase64String(payload.Span);

    public static string Reply(PersistedReply reply) => Convert.ToBase64String(PersistedReplyCodec.Encode(reply));

    /// <summary>A stored reply of <paramref name="requestId"/>; <see cref="MalformedMessageException"/> when unreadable.</summary>
    public static PersistedReply DecodeReply(long requestId, string payload)
    {
        try
        {
            return PersistedReplyCodec.Decode(requestId, Convert.FromBase64String(payload));
        }
        catch (FormatException ex)
        {
            throw new MalformedMessageException($"Stored reply of request {requestId} is not base64.", ex);
        }
    }

    /// <summary>A stored request row; <see cref="MalformedMessageException"/> when any part of it is unreadable.</summary>
    public static PersistedRequest DecodeRequest(long id, string shard, string entityType, string entityId, string? tag, short? rpcKind,
        string? payload, string? headers, string? messageId, long? deliverAt)
    {
        try
        {
            if (rpcKind is not { } kind || kind is < 0 or > byte.MaxValue || !Enum.IsDefined((RpcKind)kind))
            {
                throw new MalformedMessageException($"Stored request {id} has no readable rpc_kind ({rpcKind?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}).");
            }

            var address = new EntityAddress(entityType, entityId, ShardId.Parse(shard));
            var rpc = tag ?? throw new MalformedMessageException($"Stored request {id} has no tag.");
            var values = headers is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(headers);
            string? primaryKey = null;
            if (messageId is not null)
            {
                var prefix = PersistedRequest.StorageKeyOf(address, rpc, string.Empty);
                primaryKey = messageId.StartsWith(prefix, StringComparison.Ordinal)
                    ? messageId[prefix.Length..]
                    : values?.GetValueOrDefault(PrimaryKeyHeader) is { } hashed && MessageId(PersistedRequest.StorageKeyOf(address, rpc, hashed)) == messageId
                    ? hashed
                    : throw new MalformedMessageException($"Stored request {id} has message_id '{messageId}', neither one of {prefix}… nor the digest of one.");
            }

            return new PersistedRequest(id, address, rpc, (RpcKind)kind,
                Convert.FromBase64String(payload ?? throw new MalformedMessageException($"Stored request {id} has no payload.")),
                primaryKey,
                deliverAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null,
                values?.GetValueOrDefault("traceparent"),
                values?.GetValueOrDefault("tracestate"));
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            throw new MalformedMessageException($"Stored request {id} cannot be decoded: {ex.Message}", ex);
        }
    }
}
