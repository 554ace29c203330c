using System.Text.Json;
using Npgsql;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using static SocketRunnerAspire.Cluster.Storage.Postgres.PostgresCall;

namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>
/// RunnerStorage on PostgreSQL in the tables of Effect's <c>SqlRunnerStorage</c> (spec §3.2):
/// <c>{prefix}_runners(machine_id, address, runner, healthy, last_heartbeat)</c> and
/// <c>{prefix}_locks(shard_id, address, acquired_at)</c>, in Effect's lock-table mode (its PostgreSQL mode with
/// <c>shardLockDisableAdvisory</c>): a lease is a lock row, taken when free, expired or already ours. Times are the
/// server's <c>NOW()</c>, so runner clocks may disagree; "expired" is Effect's <c>acquired_at &lt; NOW() - expiresSeconds</c>
/// with <c>expiresSeconds = ceil(lease)</c>. The machine id is the row's serial, kept across re-registrations.
/// Every failure is a <see cref="PersistenceException"/>.
/// </summary>
/// <remarks>
/// Deviations from Effect, each needed by this interface: advisory locks are not used (one storage serves several
/// runner addresses, and an advisory lock belongs to a session, not an address); <see cref="RefreshAsync"/> extends
/// only leases that have not expired (Effect's refresh renews any row of the address, so a runner back from a pause
/// could take back a shard another runner may already have acquired); runner changes and released leases are
/// announced with <c>NOTIFY {prefix}_changes</c> (payload <c>runners</c> or <c>released</c>) for
/// <see cref="IRunnerStorageNotifications"/>. The <c>runner</c> column holds Effect's <c>Runner</c> JSON shape,
/// <c>{"address":{"host":…,"port":…},"groups":[…],"weight":…}</c>.
/// </remarks>
public sealed class PostgresRunnerStorage : IRunnerStorage, IRunnerStorageNotifications
{
    private const string Storage = "Runner storage";
    private const string RunnersMessage = "runners";
    private const string ReleasedMessage = "released";

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresTables _tables;
    private readonly TimeSpan _expiry;
    private readonly PostgresSchemaGate _schema;

    /// <summary>RunnerStorage on <paramref name="dataSource"/> in the tables of <paramref name="tablePrefix"/>, leases lasting <paramref name="leaseDuration"/>.</summary>
    public PostgresRunnerStorage(NpgsqlDataSource dataSource, TimeSpan leaseDuration, string tablePrefix = PostgresTables.DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        _dataSource = dataSource;
        _tables = new PostgresTables(tablePrefix);
        _expiry = TimeSpan.FromSeconds(Math.Ceiling(leaseDuration.TotalSeconds));
        _schema = new PostgresSchemaGate(ct => PostgresSchema.EnsureRunnerTablesAsync(_dataSource, _tables, ct));
    }

    /// <inheritdoc />
    public Task<long> RegisterAsync(RunnerInfo runner, bool healthy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return RegisterCoreAsync(runner, healthy, cancellationToken);
    }

    private Task<long> RegisterCoreAsync(RunnerInfo runner, bool healthy, CancellationToken cancellationToken) => Run(async () =>
    {
        var address = runner.Address.ToString();
        if (address.Length > 255)
        {
            throw new PersistenceException($"Runner address '{address[..40]}…' is longer than the 255 characters of {_tables.Runners}.address.");
        }

        var json = JsonSerializer.Serialize(new RunnerRecord(new AddressRecord(runner.Address.Host, runner.Address.Port), runner.Groups.ToArray(), runner.Weight));
        await using var batch = Batch(
            Command($"""
                INSERT INTO {_tables.Runners} (address, runner, healthy, last_heartbeat) VALUES (@address, @runner, @healthy, NOW())
                ON CONFLICT (address) DO UPDATE SET runner = EXCLUDED.runner, healthy = EXCLUDED.healthy, last_heartbeat = NOW()
                RETURNING machine_id
                """, ("address", address), ("runner", json), ("healthy", healthy)),
            Notify(RunnersMessage));
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        batch.Connection = connection;
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (long)reader.GetInt32(0);
    }, cancellationToken);

    /// <inheritdoc />
    public Task UnregisterAsync(RunnerAddress address, CancellationToken cancellationToken) => ExecuteAsync(cancellationToken,
        Command($"DELETE FROM {_tables.Runners} WHERE address = @address OR last_heartbeat < NOW() - @expiry", ("address", address.ToString()), ("expiry", _expiry)),
        Notify(RunnersMessage));

    /// <inheritdoc />
    public Task<IReadOnlyList<RegisteredRunner>> GetRunnersAsync(CancellationToken cancellationToken) => Run<IReadOnlyList<RegisteredRunner>>(async () =>
    {
        await using var command = _dataSource.CreateCommand($"SELECT address, runner, healthy FROM {_tables.Runners} WHERE last_heartbeat > NOW() - @expiry ORDER BY machine_id");
        command.Parameters.AddWithValue("expiry", _expiry);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var runners = new List<RegisteredRunner>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // As Effect does, a runner whose row cannot be read is skipped rather than failing the whole list.
            if (TryParse(reader.GetString(0), reader.GetString(1)) is { } runner)
            {
                runners.Add(new RegisteredRunner(runner, reader.GetBoolean(2)));
            }
        }

        return runners;
    }, cancellationToken);

    /// <inheritdoc />
    public Task SetRunnerHealthAsync(RunnerAddress address, bool healthy, CancellationToken cancellationToken) => ExecuteAsync(cancellationToken,
        Command($"UPDATE {_tables.Runners} SET healthy = @healthy WHERE address = @address", ("address", address.ToString()), ("healthy", healthy)),
        Notify(RunnersMessage));

    /// <inheritdoc />
    public Task<IReadOnlyList<ShardId>> AcquireAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken)
    {
        if (shards.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ShardId>>([]);
        }

        // Effect's upsert: a conflicting row is overwritten only when it is ours or expired. RETURNING lists the rows
        // inserted or overwritten, which are exactly the leases held now. Shards go in Effect's lock order (shard_id
        // COLLATE "C", whatever the database's collation), so runners of either language acquiring, refreshing or
        // releasing overlapping sets lock the rows in the same order (no deadlock).
        return ShardsAsync(shards, $"""
            INSERT INTO {_tables.Locks} (shard_id, address, acquired_at)
            SELECT s, @address, NOW() FROM unnest(@shards) AS s ORDER BY s COLLATE "C"
            ON CONFLICT (shard_id) DO UPDATE SET address = EXCLUDED.address, acquired_at = EXCLUDED.acquired_at
            WHERE {_tables.Locks}.address = EXCLUDED.address OR {_tables.Locks}.acquired_at < NOW() - @expiry
            RETURNING shard_id
            """, address, heartbeat: false, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ShardId>> RefreshAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken) =>
        ShardsAsync(shards, $"""
            WITH locked AS (
              SELECT shard_id FROM {_tables.Locks}
              WHERE address = @address AND shard_id = ANY(@shards) AND acquired_at >= NOW() - @expiry
              ORDER BY shard_id COLLATE "C" FOR UPDATE
            )
            UPDATE {_tables.Locks} SET acquired_at = NOW()
            WHERE address = @address AND shard_id IN (SELECT shard_id FROM locked) AND acquired_at >= NOW() - @expiry
            RETURNING shard_id
            """, address, heartbeat: true, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseAsync(RunnerAddress address, ShardId shard, CancellationToken cancellationToken) => ExecuteAsync(cancellationToken,
        Command($"DELETE FROM {_tables.Locks} WHERE shard_id = @shard AND address = @address", ("address", address.ToString()), ("shard", shard.ToString())),
        Notify(ReleasedMessage));

    /// <inheritdoc />
    public Task ReleaseAllAsync(RunnerAddress address, CancellationToken cancellationToken) => ExecuteAsync(cancellationToken,
        // In Effect's lock order, as acquire and refresh.
        Command($"""
            WITH locked AS (
              SELECT shard_id FROM {_tables.Locks} WHERE address = @address ORDER BY shard_id COLLATE "C" FOR UPDATE
            )
            DELETE FROM {_tables.Locks} WHERE address = @address AND shard_id IN (SELECT shard_id FROM locked)
            """, ("address", address.ToString())),
        Notify(ReleasedMessage));

    /// <inheritdoc />
    public async Task<IAsyncDisposable> SubscribeAsync(Action<RunnerStorageChange> onChange, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        return await PostgresCall.Run<IAsyncDisposable>(Storage, async () => await PostgresChangeListener.StartAsync(_dataSource, _tables.Changes, payload =>
        {
            switch (payload)
            {
                case RunnersMessage:
                    onChange(RunnerStorageChange.Runners);
                    break;
                case ReleasedMessage:
                    onChange(RunnerStorageChange.ShardsReleased);
                    break;
            }
        }, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    private Task<IReadOnlyList<ShardId>> ShardsAsync(IReadOnlyList<ShardId> shards, string sql, RunnerAddress address, bool heartbeat, CancellationToken cancellationToken) =>
        Run<IReadOnlyList<ShardId>>(async () =>
        {
            var names = shards.Select(s => s.ToString()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            if (names.Any(n => n.Length > 50))
            {
                throw new PersistenceException($"A shard id is longer than the 50 characters of {_tables.Locks}.shard_id.");
            }

            var commands = new List<NpgsqlBatchCommand>();
            if (heartbeat)
            {
                commands.Add(Command($"UPDATE {_tables.Runners} SET last_heartbeat = NOW() WHERE address = @address", ("address", address.ToString())));
            }

            commands.Add(Command(sql, ("address", address.ToString()), ("shards", names), ("expiry", _expiry)));
            await using var batch = Batch([.. commands]);
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            batch.Connection = connection;
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            // The heartbeat returns no rows: every row read is a shard id of the lock statement.
            var held = new HashSet<string>(StringComparer.Ordinal);
            do
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    held.Add(reader.GetString(0));
                }
            }
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));

            // In the order asked for, as the other storages answer.
            return shards.Where(s => held.Remove(s.ToString())).ToArray();
        }, cancellationToken);

    private Task ExecuteAsync(CancellationToken cancellationToken, params NpgsqlBatchCommand[] commands) => Run(async () =>
    {
        await using var batch = Batch(commands);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        batch.Connection = connection;
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    /// <summary>NOTIFY in the same implicit transaction as the change: listeners hear of it once it is committed.</summary>
    private NpgsqlBatchCommand Notify(string message) => Command("SELECT pg_notify(@channel, @message)::text", ("channel", _tables.Changes), ("message", message));

    private static NpgsqlBatchCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    private static RunnerInfo? TryParse(string address, string json)
    {
        try
        {
            var record = JsonSerializer.Deserialize<RunnerRecord>(json);
            return record?.Groups is null ? null : new RunnerInfo(RunnerAddress.Parse(address), record.Groups, record.Weight);
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            return null;
        }
    }

    private Task<T> Run<T>(Func<Task<T>> operation, CancellationToken cancellationToken) =>
        PostgresCall.Run(Storage, _schema, operation, cancellationToken);

    private sealed record AddressRecord(
        [property: System.Text.Json.Serialization.JsonPropertyName("host")] string Host,
        [property: System.Text.Json.Serialization.JsonPropertyName("port")] int Port);

    private sealed record RunnerRecord(
        [property: System.Text.Json.Serialization.JsonPropertyName("address")] AddressRecord Address,
        [property: System.Text.Json.Serialization.JsonPropertyName("groups")] string[] Groups,
        [property: System.Text.Json.Serialization.JsonPropertyName("weight")] double Weight);
}
