using Npgsql;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Postgres;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Postgres;

/// <summary>The MessageStorage suite on a throw-away PostgreSQL server (skipped where PostgreSQL is not installed); each storage has a table prefix of its own.</summary>
public sealed class PostgresMessageStorageTests(PostgresServerFixture postgres) : MessageStorageConformanceTests, IClassFixture<PostgresServerFixture>
{
    protected override string? SkipReason => PostgresServerFixture.SkipReason;

    protected override IMessageStorage CreateStorage() => new PostgresMessageStorage(postgres.DataSource, PostgresServerFixture.UniquePrefix());
}

/// <summary>What the PostgreSQL MessageStorage writes into Effect's tables, and how it handles rows and input it cannot keep.</summary>
public sealed class PostgresMessageStorageLayoutTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    private static readonly EntityAddress Address = new("Counter", "c-1", new ShardId("default", 3));

    private static PersistedRequest Make(long id, string? primaryKey = null, RpcKind kind = RpcKind.Request) =>
        new(id, Address, "Increment", kind, new byte[] { 0, 1, 2, 255 }, primaryKey, TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState: "k=v");

    private async Task<object?[]> RowAsync(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no row for {sql}");
        var values = new object?[reader.FieldCount];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
        }

        return values;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    [SkippableFact]
    public async Task WritesEffectsColumnsAndRecordsEffectsMigrations()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var storage = new PostgresMessageStorage(postgres.DataSource, prefix);
        await storage.SaveRequestAsync(Make(5_000_000_001, primaryKey: "order-1", kind: RpcKind.Stream), default);
        Assert.True(await storage.SaveReplyAsync(new PersistedReply(5_000_000_001, 0, false, false, new byte[] { 7 }), default));
        await storage.SaveEnvelopeAsync(new PersistedEnvelope.Interrupt(5_000_000_001), default);

        Assert.Equal(
            [5_000_000_001L, "Counter/c-1/Increment/order-1", "default:3", "Counter", "c-1", 0, "Increment", "AAEC/w==",
                """{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"k=v"}""",
                "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", true, false, 5_000_000_001L, (short)1],
            await RowAsync($"SELECT id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers, trace_id, span_id, sampled, processed, request_id, rpc_kind FROM {prefix}_messages WHERE kind = 0"));
        var interrupt = await RowAsync($"SELECT id < 0, request_id, processed FROM {prefix}_messages WHERE kind = 2");
        Assert.Equal([true, 5_000_000_001L, false], interrupt);
        var chunk = await RowAsync($"SELECT r.kind, r.sequence, r.acked, r.id = m.last_reply_id FROM {prefix}_replies r JOIN {prefix}_messages m ON m.id = r.request_id WHERE m.kind = 0");
        Assert.Equal([null, 0, false, true], chunk);

        Assert.True(await storage.SaveReplyAsync(new PersistedReply(5_000_000_001, 1, true, false, new byte[] { 8 }), default));
        Assert.Equal([0L], await RowAsync($"SELECT COUNT(*) FROM {prefix}_messages WHERE NOT processed"));   // the request and its interrupt
        Assert.Equal([0, null], await RowAsync($"SELECT kind, sequence FROM {prefix}_replies WHERE kind = 0"));
        Assert.Equal([3L, "create_tables, entity_type_size, pg_messages_rowid_index"], await RowAsync($"SELECT COUNT(*), string_agg(name, ', ' ORDER BY migration_id) FROM {prefix}_migrations"));
        Assert.Equal(["character varying", 150], await RowAsync(
            $"SELECT data_type, character_maximum_length FROM information_schema.columns WHERE table_name = '{prefix}_messages' AND column_name = 'entity_type'"));

        // A second storage on the same tables (another process) finds them in place and reads the same rows.
        var again = new PostgresMessageStorage(postgres.DataSource, prefix);
        Assert.Equal(5_000_000_001, await again.RequestIdForPrimaryKeyAsync(Address, "Increment", "order-1", default));
    }

    [SkippableFact]
    public async Task ReturnsTheRequestAsSavedIncludingPrimaryKeyAndTraceState()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        var storage = new PostgresMessageStorage(postgres.DataSource, PostgresServerFixture.UniquePrefix());
        var saved = Make(77, primaryKey: "a/b/c", kind: RpcKind.Tell) with { DeliverAt = DateTimeOffset.FromUnixTimeMilliseconds(1_000) };
        await storage.SaveRequestAsync(saved, default);

        var read = Assert.Single(await storage.UnprocessedMessagesAsync([Address.ShardId], 10, default)).Request;

        Assert.Equal(saved with { Payload = default }, read with { Payload = default });
        Assert.Equal(saved.Payload.ToArray(), read.Payload.ToArray());
    }

    [SkippableFact]
    public async Task InputThatCannotFitEffectsColumnsIsRefusedAndNothingIsSaved()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        var storage = new PostgresMessageStorage(postgres.DataSource, PostgresServerFixture.UniquePrefix());

        var tooLongTag = storage.SaveRequestAsync(Make(1) with { Tag = new string('t', 51) }, default);
        Assert.True(tooLongTag.IsFaulted);   // a faulted task, not a synchronous throw: Task.WhenAll over many saves sees each outcome
        await Assert.ThrowsAsync<MalformedMessageException>(() => tooLongTag);
        await Assert.ThrowsAsync<MalformedMessageException>(() => storage.SaveRequestAsync(Make(3) with { Address = Address with { EntityId = "a\0b" } }, default));
        await storage.SaveRequestAsync(Make(4), default);
        await Assert.ThrowsAsync<PersistenceException>(() => storage.SaveRequestAsync(Make(4), default));   // same id: Effect's PK violation

        Assert.Equal([4L], (await storage.UnprocessedMessagesAsync([Address.ShardId], 10, default)).Select(m => m.Request.Id));
    }

    [SkippableFact]
    public async Task AKeyLongerThanMessageIdIsStoredAsItsSha256AsEffectDoesAndStillDeduplicates()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var storage = new PostgresMessageStorage(postgres.DataSource, prefix);
        var longKey = new string('k', 250);   // entity type, id and tag make the composed key longer than 255
        var saved = Make(2, primaryKey: longKey);
        Assert.True(saved.StorageKey!.Length > PostgresMessageCodec.MaxMessageId);

        Assert.IsType<SaveRequestResult.Saved>(await storage.SaveRequestAsync(saved, default));

        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(saved.StorageKey)));
        Assert.Equal([digest], await RowAsync($"SELECT message_id FROM {prefix}_messages WHERE id = 2"));
        Assert.Equal(2, Assert.IsType<SaveRequestResult.Duplicate>(await storage.SaveRequestAsync(Make(3, primaryKey: longKey), default)).OriginalId);
        Assert.Equal(2, await storage.RequestIdForPrimaryKeyAsync(Address, "Increment", longKey, default));
        Assert.Equal(longKey, Assert.Single(await storage.UnprocessedMessagesAsync([Address.ShardId], 10, default)).Request.PrimaryKey);
    }

    [SkippableTheory]
    [InlineData("payload = 'not base64!'")]
    [InlineData("rpc_kind = 9")]
    [InlineData("headers = '[1,2]'")]
    [InlineData("message_id = 'Other/x/Increment/k'")]
    public async Task AnUndecodableRowIsSkippedAnsweredWithMalformedMessageAndKept(string corruption)
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var logs = new CapturingLoggerProvider();
        var storage = new PostgresMessageStorage(postgres.DataSource, prefix, logs.CreateFactory().CreateLogger("storage"));
        await storage.SaveRequestAsync(Make(1), default);
        await storage.SaveRequestAsync(Make(2, primaryKey: "k"), default);
        await ExecuteAsync($"UPDATE {prefix}_messages SET {corruption} WHERE id = 2");

        var read = await storage.UnprocessedMessagesAsync([Address.ShardId], 100, default);

        Assert.Equal([1L], read.Select(m => m.Request.Id));
        var reply = Assert.Single(await storage.RepliesForAsync([2], default));
        Assert.True(reply.IsFinal && reply.IsFailure);
        Assert.IsType<MalformedMessageException>(ReplyFailure.Decode(reply.Payload));
        Assert.Contains(logs.Entries, e => e.Message.Contains("Stored request 2 cannot be decoded", StringComparison.Ordinal));
        Assert.Equal([1L], await RowAsync($"SELECT COUNT(*) FROM {prefix}_messages WHERE id = 2"));   // the bad row stays
        await storage.ResetShardsAsync([Address.ShardId], default);
        Assert.Equal([1L], (await storage.UnprocessedMessagesAsync([Address.ShardId], 100, default)).Select(m => m.Request.Id));
        Assert.Empty(await storage.UnprocessedMessagesByIdAsync([2], default));
    }

    [SkippableFact]
    public async Task AnUnreachableServerIsAPersistenceException()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        await using var nowhere = NpgsqlDataSource.Create($"Host=127.0.0.1;Port={FreePort.Next()};Username=postgres;Timeout=2");
        var storage = new PostgresMessageStorage(nowhere, PostgresServerFixture.UniquePrefix());

        await Assert.ThrowsAsync<PersistenceException>(() => storage.SaveRequestAsync(Make(1), default));
        await Assert.ThrowsAsync<PersistenceException>(() => storage.UnprocessedMessagesAsync([Address.ShardId], 10, default));
    }
}
