using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using static SocketRunnerAspire.Cluster.Storage.Postgres.PostgresCall;

namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>
/// MessageStorage on PostgreSQL in the tables of Effect's <c>SqlMessageStorage</c> (spec §5.7): a request is a
/// <c>{prefix}_messages</c> row of kind 0 (<c>id</c> = <c>request_id</c> = the request id, <c>message_id</c> = the
/// de-duplication key <c>entityType/entityId/tag/primaryKey</c>, or its SHA-256 when longer than 255 characters as in
/// Effect, <c>processed</c> once it has its final reply, <c>last_read</c> its read lease,
/// <c>deliver_at</c> in epoch ms); an interrupt is a kind 2 row of the request; replies are <c>{prefix}_replies</c>
/// rows (chunks with kind NULL and their sequence, the final reply with kind 0), <c>last_reply_id</c> pointing at the
/// latest. Every operation is one round trip (a statement, or a batch in one implicit transaction); the read of
/// unprocessed requests is Effect's single <c>UPDATE … RETURNING</c> that leases what it returns. Every failure is a
/// <see cref="PersistenceException"/>; a request that cannot fit the columns is a <see cref="MalformedMessageException"/>
/// and nothing is saved.
/// </summary>
/// <remarks>
/// Deviations from Effect, each needed by this interface (see also <see cref="PostgresMessageCodec"/> and
/// <see cref="PostgresSchema"/>): the extra column <c>rpc_kind</c>; reply rows and interrupt rows get the ids
/// <c>-rowid</c> (our replies and interrupts carry no snowflake id; negative ids never meet a snowflake); an
/// acknowledgement sets <c>acked</c> on every chunk up to its sequence and adds no AckChunk row (our acks name a
/// sequence, not a reply id); a final reply's <c>sequence</c> column is NULL (its sequence is in its payload) so it
/// cannot collide with a chunk's; a request waiting for the ack of a chunk is still handed out (a resumed stream
/// continues after its last saved chunk), and an interrupted one regardless of <c>deliver_at</c>;
/// <see cref="ClearRepliesAsync"/> deletes chunks too, and <see cref="SaveReplyAsync"/> refuses a chunk that is not
/// the next one. Replies to one request saved at once are saved in call order (<see cref="PostgresCallOrder{TKey}"/>).
/// </remarks>
public sealed partial class PostgresMessageStorage : IMessageStorage
{
    private const string Storage = "Message storage";
    private const int RequestKind = 0;
    private const int InterruptKind = 2;
    private const int FinalReplyKind = 0;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresTables _tables;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PostgresSchemaGate _schema;
    private readonly PostgresCallOrder<long> _replyOrder = new();

    /// <summary>MessageStorage on <paramref name="dataSource"/> in the tables of <paramref name="tablePrefix"/>; stored rows that cannot be read are reported to <paramref name="logger"/>.</summary>
    public PostgresMessageStorage(NpgsqlDataSource dataSource, string tablePrefix = PostgresTables.DefaultPrefix, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _tables = new PostgresTables(tablePrefix);
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _schema = new PostgresSchemaGate(ct => PostgresSchema.EnsureMessageTablesAsync(_dataSource, _tables, ct));
    }

    private string M => _tables.Messages;

    private string R => _tables.Replies;

    /// <inheritdoc />
    public Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            PostgresMessageCodec.CheckFits(request);
        }
        catch (MalformedMessageException ex)
        {
            return Task.FromException<SaveRequestResult>(ex);
        }

        var (traceId, spanId, sampled) = PostgresMessageCodec.TraceColumns(request.TraceParent);
        var key = request.StorageKey is { } storageKey ? PostgresMessageCodec.MessageId(storageKey) : null;
        return Run<SaveRequestResult>(async () =>
        {
            // A concurrent ClearAddress may delete the original between the two statements: then the insert is tried again.
            for (var attempt = 0; attempt < 3; attempt++)
            {
                await using var batch = Batch(
                    Command($"""
                        INSERT INTO {M} (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, trace_id, span_id, sampled, processed, request_id, deliver_at, rpc_kind)
                        VALUES (@id, @key, @shard, @type, @entity, {RequestKind}, @tag, @payload, @headers, @trace, @span, @sampled, FALSE, @id, @deliver, @rpc)
                        ON CONFLICT (message_id) DO NOTHING
                        RETURNING id
                        """,
                        P("id", request.Id), P("key", key, NpgsqlDbType.Varchar), P("shard", request.Address.ShardId.ToString()),
                        P("type", request.Address.EntityType), P("entity", request.Address.EntityId), P("tag", request.Tag),
                        P("payload", PostgresMessageCodec.Payload(request.Payload)), P("headers", PostgresMessageCodec.Headers(request)),
                        P("trace", traceId, NpgsqlDbType.Varchar), P("span", spanId, NpgsqlDbType.Varchar), P("sampled", sampled, NpgsqlDbType.Boolean),
                        P("deliver", request.DeliverAt?.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint), P("rpc", (short)request.Kind)),
                    // A new snapshot: sees the row that made the insert do nothing, once its transaction committed.
                    Command($"SELECT m.id, r.payload FROM {M} m LEFT JOIN {R} r ON r.id = m.last_reply_id WHERE m.message_id = @key",
                        P("key", key, NpgsqlDbType.Varchar)));
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                batch.Connection = connection;
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return SaveRequestResult.Saved.Instance;
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var originalId = reader.GetInt64(0);
                    var last = reader.IsDBNull(1) ? null : PostgresMessageCodec.DecodeReply(originalId, reader.GetString(1));
                    return new SaveRequestResult.Duplicate(originalId, last);
                }
            }

            throw new PersistenceException($"Message storage failed: request {request.Id} conflicted with primary key '{key}' whose request kept disappearing.");
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> SaveReplyAsync(PersistedReply reply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return _replyOrder.RunAsync(reply.RequestId, () => SaveReplyInOrderAsync(reply, cancellationToken), cancellationToken);
    }

    private Task<bool> SaveReplyInOrderAsync(PersistedReply reply, CancellationToken cancellationToken) =>
        Run(async () =>
        {
            // The first statement locks the request row, so the second (a new snapshot) sees every reply committed
            // before: a chunk is saved only as the next one, a reply only for a known, unfinished request.
            var next = reply.IsFinal ? "TRUE" : "COALESCE((SELECT MAX(sequence) FROM " + R + " c WHERE c.request_id = m.id AND c.kind IS NULL), -1) + 1 = @sequence";
            var update = reply.IsFinal
                ? $"UPDATE {M} u SET processed = TRUE, last_reply_id = ins.id FROM ins WHERE u.request_id = @id"
                : $"UPDATE {M} u SET last_reply_id = ins.id FROM ins WHERE u.id = @id";
            await using var batch = Batch(
                Command($"SELECT 1 FROM {M} WHERE id = @id FOR UPDATE", P("id", reply.RequestId)),
                Command($"""
                    WITH req AS (
                      SELECT m.id FROM {M} m WHERE m.id = @id AND m.kind = {RequestKind} AND NOT m.processed AND {next}
                    ), ins AS (
                      INSERT INTO {R} (id, rowid, kind, request_id, payload, sequence)
                      SELECT -n.v, n.v, @kind, req.id, @payload, @chunk FROM req, nextval(pg_get_serial_sequence('{R}', 'rowid')) AS n(v)
                      ON CONFLICT DO NOTHING
                      RETURNING id
                    ), upd AS (
                      {update}
                    )
                    SELECT COUNT(*) FROM ins
                    """,
                    P("id", reply.RequestId), P("sequence", reply.Sequence), P("payload", PostgresMessageCodec.Reply(reply)),
                    P("kind", reply.IsFinal ? FinalReplyKind : null, NpgsqlDbType.Integer),
                    P("chunk", reply.IsFinal ? null : reply.Sequence, NpgsqlDbType.Integer)));
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            batch.Connection = connection;
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return reader.GetInt64(0) == 1;
        }, cancellationToken);

    /// <inheritdoc />
    public Task SaveEnvelopeAsync(PersistedEnvelope envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var command = envelope switch
        {
            PersistedEnvelope.AckChunk ack => Command($"""
                UPDATE {R} SET acked = TRUE
                WHERE request_id = @id AND kind IS NULL AND sequence <= @sequence AND NOT acked
                  AND EXISTS (SELECT 1 FROM {M} m WHERE m.id = @id AND m.kind = {RequestKind} AND NOT m.processed)
                """, P("id", ack.RequestId), P("sequence", ack.Sequence)),
            // Effect's Interrupt row (kind 2, of the request), once; and the request's lease ends so it is handed out again.
            _ => Command($"""
                WITH req AS (
                  SELECT id, shard_id, entity_type, entity_id, tag, headers, rpc_kind FROM {M}
                  WHERE id = @id AND kind = {RequestKind} AND NOT processed FOR UPDATE
                ), ins AS (
                  INSERT INTO {M} (id, rowid, shard_id, entity_type, entity_id, kind, tag, headers, processed, request_id, rpc_kind)
                  SELECT -n.v, n.v, req.shard_id, req.entity_type, req.entity_id, {InterruptKind}, req.tag, req.headers, FALSE, req.id, req.rpc_kind
                  FROM req, nextval(pg_get_serial_sequence('{M}', 'rowid')) AS n(v)
                  WHERE NOT EXISTS (SELECT 1 FROM {M} i WHERE i.request_id = @id AND i.kind = {InterruptKind})
                )
                UPDATE {M} m SET last_read = NULL FROM req WHERE m.id = req.id
                """, P("id", envelope.RequestId)),
        };
        return ExecuteAsync(cancellationToken, command);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PersistedReply>> RepliesForAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken)
    {
        if (requestIds.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<PersistedReply>>([]);
        }

        return Run<IReadOnlyList<PersistedReply>>(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                $"SELECT request_id, payload FROM {R} WHERE request_id = ANY(@ids) AND (kind = {FinalReplyKind} OR NOT acked) ORDER BY rowid");
            command.Parameters.Add(P("ids", requestIds.Distinct().ToArray()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var replies = new List<PersistedReply>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                replies.Add(PostgresMessageCodec.DecodeReply(reader.GetInt64(0), reader.GetString(1)));
            }

            return replies;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesAsync(IReadOnlyCollection<ShardId> shards, int limit, CancellationToken cancellationToken)
    {
        if (shards.Count == 0 || limit <= 0)
        {
            return Task.FromResult<IReadOnlyList<UnprocessedMessage>>([]);
        }

        return LeaseAsync("m.shard_id = ANY(@shards) AND (m.last_read IS NULL OR m.last_read < NOW() - @lease) LIMIT @limit",
            [P("shards", shards.Select(s => s.ToString()).Distinct(StringComparer.Ordinal).ToArray()), P("lease", MessageStorageDefaults.ReadLease), P("limit", limit)],
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesByIdAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken)
    {
        if (requestIds.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<UnprocessedMessage>>([]);
        }

        return LeaseAsync("m.id = ANY(@ids)", [P("ids", requestIds.Distinct().ToArray())], cancellationToken);
    }

    /// <summary>
    /// Effect's read: one UPDATE that leases (<c>last_read = NOW()</c>) the unfinished, due requests matching
    /// <paramref name="filter"/> (which may end in a LIMIT), oldest (lowest rowid) first, and returns them with their
    /// interrupt flag and last saved chunk.
    /// </summary>
    private Task<IReadOnlyList<UnprocessedMessage>> LeaseAsync(string filter, NpgsqlParameter[] parameters, CancellationToken cancellationToken) =>
        Run<IReadOnlyList<UnprocessedMessage>>(async () =>
        {
            await using var command = _dataSource.CreateCommand($"""
                WITH picked AS (
                  SELECT m.id FROM {M} m
                  WHERE m.kind = {RequestKind} AND NOT m.processed
                    AND (m.deliver_at IS NULL OR m.deliver_at <= @now
                         OR EXISTS (SELECT 1 FROM {M} i WHERE i.request_id = m.id AND i.kind = {InterruptKind}))
                    AND {filter.Replace("LIMIT", "ORDER BY m.rowid LIMIT", StringComparison.Ordinal)}
                  FOR UPDATE
                ), leased AS (
                  UPDATE {M} m SET last_read = NOW() FROM picked WHERE m.id = picked.id
                  RETURNING m.id, m.rowid, m.shard_id, m.entity_type, m.entity_id, m.tag, m.rpc_kind, m.payload, m.headers, m.message_id, m.deliver_at
                )
                SELECT l.id, l.shard_id, l.entity_type, l.entity_id, l.tag, l.rpc_kind, l.payload, l.headers, l.message_id, l.deliver_at,
                  EXISTS (SELECT 1 FROM {M} i WHERE i.request_id = l.id AND i.kind = {InterruptKind}),
                  c.sequence, c.payload
                FROM leased l
                LEFT JOIN LATERAL (
                  SELECT r.sequence, r.payload FROM {R} r WHERE r.request_id = l.id AND r.kind IS NULL ORDER BY r.sequence DESC LIMIT 1
                ) c ON TRUE
                ORDER BY l.rowid
                """);
            command.Parameters.Add(P("now", _time.GetUtcNow().ToUnixTimeMilliseconds()));
            command.Parameters.AddRange(parameters);
            var messages = new List<UnprocessedMessage>();
            List<PersistedReply>? failures = null;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var id = reader.GetInt64(0);
                    try
                    {
                        messages.Add(DecodeRow(id, reader));
                    }
                    catch (MalformedMessageException ex)
                    {
                        LogMalformedRequest(_logger, ex, id);
                        (failures ??= []).Add(new PersistedReply(id, 0, IsFinal: true, IsFailure: true, ReplyFailure.Encode(ex)));
                    }
                }
            }

            if (failures is not null)
            {
                // As Effect does: the caller of an undecodable request is answered, and it is not handed out forever. The row stays.
                try
                {
                    foreach (var failure in failures)
                    {
                        await SaveReplyAsync(failure, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (PersistenceException ex)
                {
                    LogMalformedReplyNotSaved(_logger, ex);   // read again once the lease ends
                }
            }

            return messages;
        }, cancellationToken);

    private static UnprocessedMessage DecodeRow(long id, NpgsqlDataReader reader)
    {
        var request = PostgresMessageCodec.DecodeRequest(id, reader.GetString(1), reader.GetString(2), reader.GetString(3),
            Text(reader, 4), reader.IsDBNull(5) ? null : reader.GetInt16(5), Text(reader, 6), Text(reader, 7), Text(reader, 8),
            reader.IsDBNull(9) ? null : reader.GetInt64(9));
        var interrupted = reader.GetBoolean(10);
        if (reader.IsDBNull(11))
        {
            return new UnprocessedMessage(request, interrupted, -1);
        }

        var last = PostgresMessageCodec.DecodeReply(id, reader.GetString(12));
        if (last.IsFinal || last.Sequence != reader.GetInt32(11))
        {
            throw new MalformedMessageException($"Stored chunk {reader.GetInt32(11)} of request {id} holds reply {last.Sequence} (final: {last.IsFinal}).");
        }

        return new UnprocessedMessage(request, interrupted, last.Sequence, last);
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <inheritdoc />
    public Task ResetShardsAsync(IReadOnlyCollection<ShardId> shards, CancellationToken cancellationToken) => shards.Count == 0
        ? Task.CompletedTask
        : ExecuteAsync(cancellationToken, Command(
            $"UPDATE {M} SET last_read = NULL WHERE shard_id = ANY(@shards) AND kind = {RequestKind} AND NOT processed AND last_read IS NOT NULL",
            P("shards", shards.Select(s => s.ToString()).Distinct(StringComparer.Ordinal).ToArray())));

    /// <inheritdoc />
    public Task ClearRepliesAsync(long requestId, CancellationToken cancellationToken) => ExecuteAsync(cancellationToken,
        Command($"SELECT 1 FROM {M} WHERE id = @id FOR UPDATE", P("id", requestId)),
        Command($"DELETE FROM {R} WHERE request_id = @id", P("id", requestId)),
        Command($"DELETE FROM {M} WHERE request_id = @id AND kind = {InterruptKind}", P("id", requestId)),
        Command($"UPDATE {M} SET processed = FALSE, last_reply_id = NULL, last_read = NULL WHERE id = @id", P("id", requestId)));

    /// <inheritdoc />
    public Task ResetAddressAsync(EntityAddress address, CancellationToken cancellationToken) => ExecuteAsync(cancellationToken, Command(
        $"""
        UPDATE {M} SET last_read = NULL
        WHERE shard_id = @shard AND entity_type = @type AND entity_id = @entity AND kind = {RequestKind} AND NOT processed AND last_read IS NOT NULL
        """,
        P("shard", address.ShardId.ToString()), P("type", address.EntityType), P("entity", address.EntityId)));

    /// <inheritdoc />
    public Task ClearAddressAsync(EntityAddress address, CancellationToken cancellationToken)
    {
        const string Entity = "shard_id = @shard AND entity_type = @type AND entity_id = @entity";
        NpgsqlParameter[] Parameters() => [P("shard", address.ShardId.ToString()), P("type", address.EntityType), P("entity", address.EntityId)];
        return ExecuteAsync(cancellationToken,
            Command($"DELETE FROM {R} WHERE request_id IN (SELECT id FROM {M} WHERE {Entity})", Parameters()),
            Command($"DELETE FROM {M} WHERE {Entity}", Parameters()));
    }

    /// <inheritdoc />
    public Task<long?> RequestIdForPrimaryKeyAsync(EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken) => Run(async () =>
    {
        await using var command = _dataSource.CreateCommand($"SELECT id FROM {M} WHERE message_id = @key");
        command.Parameters.Add(P("key", PostgresMessageCodec.MessageId(PersistedRequest.StorageKeyOf(address, tag, primaryKey))));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long id ? id : (long?)null;
    }, cancellationToken);

    private Task ExecuteAsync(CancellationToken cancellationToken, params NpgsqlBatchCommand[] commands) => Run(async () =>
    {
        await using var batch = Batch(commands);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        batch.Connection = connection;
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    private static NpgsqlParameter P<T>(string name, T value) => new NpgsqlParameter<T>(name, value);

    private static NpgsqlParameter P(string name, object? value, NpgsqlDbType type) => new(name, type) { Value = value ?? DBNull.Value };

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private Task<T> Run<T>(Func<Task<T>> operation, CancellationToken cancellationToken) =>
        PostgresCall.Run(Storage, _schema, operation, cancellationToken);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stored request {RequestId} cannot be decoded; it is skipped and answered with a MalformedMessage failure")]
    private static partial void LogMalformedRequest(ILogger logger, Exception exception, long requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The failure reply for an undecodable stored request could not be saved; it is retried when the request is read again")]
    private static partial void LogMalformedReplyNotSaved(ILogger logger, Exception exception);
}
