using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster;
using StackExchange.Redis;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Runner.State;

/// <summary>
/// Keeps an entity's state as JSON in the cluster's storage: in Redis under <c>{cluster}:state:{type}:{id}</c>, or, when
/// the cluster runs on PostgreSQL (<c>Cluster:Storage=Postgres</c>), in the table <c>{prefix}_entity_state</c> (key, value)
/// under the same key. An entity loads it on its first message and writes it after every change, so its state outlives
/// passivation, shard moves and runner crashes. Only the owning entity writes, so no concurrency check is needed.
/// In your own app this is your database.
/// </summary>
public sealed class EntityStateStore(IServiceProvider services, IOptions<ShardingOptions> options, IConfiguration configuration)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly NpgsqlDataSource? _postgres = services.GetService<NpgsqlDataSource>();
    private readonly string _table = (configuration[ClusterConfigurationKeys.PostgresTablePrefix] ?? "cluster") + "_entity_state";
    private readonly SemaphoreSlim _tableCreated = new(1, 1);
    private volatile bool _tableExists;

    public async Task<T?> LoadAsync<T>(EntityAddress address) where T : class
    {
        if (_postgres is null)
        {
            var value = await services.GetRequiredService<IConnectionMultiplexer>().GetDatabase().StringGetAsync(Key(address));
            return value.IsNull ? null : JsonSerializer.Deserialize<T>(value.ToString(), Json);
        }

        await EnsureTableAsync();
        await using var command = _postgres.CreateCommand($"SELECT value FROM {_table} WHERE key = @key");
        command.Parameters.AddWithValue("key", Key(address));
        return await command.ExecuteScalarAsync() is string json ? JsonSerializer.Deserialize<T>(json, Json) : null;
    }

    public async Task SaveAsync<T>(EntityAddress address, T state) where T : class
    {
        var json = JsonSerializer.Serialize(state, Json);
        if (_postgres is null)
        {
            await services.GetRequiredService<IConnectionMultiplexer>().GetDatabase().StringSetAsync(Key(address), json);
            return;
        }

        await EnsureTableAsync();
        await using var command = _postgres.CreateCommand($"INSERT INTO {_table} (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
        command.Parameters.AddWithValue("key", Key(address));
        command.Parameters.AddWithValue("value", json);
        await command.ExecuteNonQueryAsync();
    }

    private async Task EnsureTableAsync()
    {
        if (_tableExists)
        {
            return;
        }

        await _tableCreated.WaitAsync();
        try
        {
            if (!_tableExists)
            {
                // Runners start together: the advisory lock keeps two CREATE TABLE IF NOT EXISTS from colliding.
                await using var batch = _postgres!.CreateBatch();
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock(hashtext('{_table}'))"));
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"CREATE TABLE IF NOT EXISTS {_table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
                await batch.ExecuteNonQueryAsync();
                _tableExists = true;
            }
        }
        finally
        {
            _tableCreated.Release();
        }
    }

    private string Key(EntityAddress address) => $"{options.Value.Name}:state:{address.EntityType}:{address.EntityId}";
}
