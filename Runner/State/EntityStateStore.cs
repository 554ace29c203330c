using System.Text.Json;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster;
using StackExchange.Redis;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Runner.State;

/// <summary>
/// Keeps an entity's state as JSON in the cluster's Redis storage, under <c>{cluster}:state:{type}:{id}</c>.
/// An entity loads it on its first message and writes it after every change, so its state outlives
/// passivation, shard moves and runner crashes. Only the owning entity writes, so no concurrency check is needed.
/// In your own app this is your database.
/// </summary>
public sealed class EntityStateStore(IConnectionMultiplexer redis, IOptions<ShardingOptions> options)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<T?> LoadAsync<T>(EntityAddress address) where T : class
    {
        var value = await redis.GetDatabase().StringGetAsync(Key(address));
        return value.IsNull ? null : JsonSerializer.Deserialize<T>(value.ToString(), Json);
    }

    public Task SaveAsync<T>(EntityAddress address, T state) where T : class =>
        redis.GetDatabase().StringSetAsync(Key(address), JsonSerializer.Serialize(state, Json));

    private RedisKey Key(EntityAddress address) => $"{options.Value.Name}:state:{address.EntityType}:{address.EntityId}";
}
