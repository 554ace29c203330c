using Npgsql;

namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>
/// Creates Effect's SQL cluster tables (PostgreSQL dialect of <c>SqlRunnerStorage.ts</c> and <c>SqlMessageStorage.ts</c>
/// of effect 4.1.0) if they do not exist, as Effect's migrations do, and records them in Effect's <c>Migrator</c> history
/// tables (layout <c>migration_id</c>, <c>created_at</c>, <c>name</c>) so an Effect runtime on the same database sees
/// them applied: the runner tables are <c>SqlRunnerStorage</c>'s migration <c>0001_create_tables</c>, recorded in
/// <c>{prefix}_runner_migrations</c>; the message tables are <c>SqlMessageStorage</c>'s <c>0001_create_tables</c>,
/// <c>0002_entity_type_size</c> and <c>0003_pg_messages_rowid_index</c>, recorded in <c>{prefix}_migrations</c>.
/// Deviation: the column <c>rpc_kind</c> (request, stream or tell, which Effect reads from the RPC's schema instead) is
/// added to <c>{prefix}_messages</c> outside the migrations (ADD COLUMN IF NOT EXISTS), so it never takes a migration
/// number Effect may use later; Effect's inserts name their columns, so the extra nullable column does not disturb
/// them. Concurrent creators are serialised by a transaction-scoped advisory lock and, as Effect's migrator does, by
/// an ACCESS EXCLUSIVE lock on the history table.
/// </summary>
internal static class PostgresSchema
{
    public static async Task EnsureRunnerTablesAsync(NpgsqlDataSource dataSource, PostgresTables tables, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var applied = await LockHistoryAsync(connection, tables, tables.RunnerMigrations, cancellationToken).ConfigureAwait(false);
        if (applied < 1)
        {
            // Effect's 0001 uses IF NOT EXISTS too: deployments may have the tables without the history.
            await ExecuteAsync(connection, $"""
                CREATE TABLE IF NOT EXISTS {tables.Runners} (
                  machine_id SERIAL PRIMARY KEY,
                  address VARCHAR(255) NOT NULL,
                  runner TEXT NOT NULL,
                  healthy BOOLEAN NOT NULL DEFAULT TRUE,
                  last_heartbeat TIMESTAMP NOT NULL DEFAULT NOW(),
                  UNIQUE (address)
                );
                CREATE TABLE IF NOT EXISTS {tables.Locks} (
                  shard_id VARCHAR(50) PRIMARY KEY,
                  address VARCHAR(255) NOT NULL,
                  acquired_at TIMESTAMP NOT NULL
                );
                INSERT INTO {tables.RunnerMigrations} (migration_id, name) VALUES (1, 'create_tables');
                """, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task EnsureMessageTablesAsync(NpgsqlDataSource dataSource, PostgresTables tables, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var applied = await LockHistoryAsync(connection, tables, tables.Migrations, cancellationToken).ConfigureAwait(false);
        if (applied < 1)
        {
            await ExecuteAsync(connection, CreateTables(tables) + $"INSERT INTO {tables.Migrations} (migration_id, name) VALUES (1, 'create_tables');", cancellationToken).ConfigureAwait(false);
        }

        if (applied < 2)
        {
            await ExecuteAsync(connection, $"""
                ALTER TABLE {tables.Messages} ALTER COLUMN entity_type TYPE VARCHAR(150);
                INSERT INTO {tables.Migrations} (migration_id, name) VALUES (2, 'entity_type_size');
                """, cancellationToken).ConfigureAwait(false);
        }

        if (applied < 3)
        {
            await ExecuteAsync(connection, $"""
                CREATE INDEX IF NOT EXISTS {tables.Messages}_rowid_idx ON {tables.Messages} (rowid);
                INSERT INTO {tables.Migrations} (migration_id, name) VALUES (3, 'pg_messages_rowid_index');
                """, cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, $"ALTER TABLE {tables.Messages} ADD COLUMN IF NOT EXISTS rpc_kind SMALLINT;", cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string CreateTables(PostgresTables tables) => $"""
        CREATE TABLE IF NOT EXISTS {tables.Messages} (
          id BIGINT PRIMARY KEY,
          rowid BIGSERIAL NOT NULL,
          message_id VARCHAR(255),
          shard_id VARCHAR(50) NOT NULL,
          entity_type VARCHAR(150) NOT NULL,
          entity_id VARCHAR(255) NOT NULL,
          kind INT NOT NULL,
          tag VARCHAR(50),
          payload TEXT,
          headers TEXT,
          trace_id VARCHAR(32),
          span_id VARCHAR(16),
          sampled BOOLEAN,
          processed BOOLEAN NOT NULL DEFAULT FALSE,
          request_id BIGINT NOT NULL,
          reply_id BIGINT,
          last_reply_id BIGINT,
          last_read TIMESTAMP,
          deliver_at BIGINT,
          UNIQUE (message_id)
        );
        CREATE INDEX IF NOT EXISTS {tables.Messages}_shard_idx ON {tables.Messages} (shard_id, processed, last_read, deliver_at);
        CREATE INDEX IF NOT EXISTS {tables.Messages}_request_id_idx ON {tables.Messages} (request_id);
        CREATE TABLE IF NOT EXISTS {tables.Replies} (
          id BIGINT PRIMARY KEY,
          rowid BIGSERIAL NOT NULL,
          kind INT,
          request_id BIGINT NOT NULL,
          payload TEXT NOT NULL,
          sequence INT,
          acked BOOLEAN NOT NULL DEFAULT FALSE,
          UNIQUE (request_id, kind),
          UNIQUE (request_id, sequence)
        );
        CREATE INDEX IF NOT EXISTS {tables.Replies}_request_lookup_idx ON {tables.Replies} (request_id, kind, acked);

        """;

    /// <summary>
    /// Takes the schema lock, creates Effect's <c>Migrator</c> history table <paramref name="history"/> if missing, locks
    /// it as Effect's migrator does and returns the latest migration id recorded there (0 for none).
    /// </summary>
    private static async Task<int> LockHistoryAsync(NpgsqlConnection connection, PostgresTables tables, string history, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, $"""
            SELECT pg_advisory_xact_lock(hashtext('{tables.Prefix}_schema'));
            CREATE TABLE IF NOT EXISTS {history} (
              migration_id INTEGER PRIMARY KEY,
              created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
              name TEXT NOT NULL
            );
            LOCK TABLE {history} IN ACCESS EXCLUSIVE MODE;
            """, cancellationToken).ConfigureAwait(false);
        await using var latest = new NpgsqlCommand($"SELECT COALESCE(MAX(migration_id), 0) FROM {history}", connection);
        return Convert.ToInt32(await latest.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
