using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster.Hosting;

/// <summary>
/// <see cref="IEntityClient"/> as registered in DI: forwards to the host's <see cref="Sharding"/>. A separate, non-disposable
/// object, because the container disposes whatever a factory registration returns: registering the Sharding itself a
/// second time (as IEntityClient) would dispose it twice at shutdown.
/// </summary>
internal sealed class ShardingEntityClient(Sharding sharding) : IEntityClient
{
    public EntityRef<TEntity> GetEntity<TEntity>(string entityId) => sharding.GetEntity<TEntity>(entityId);

    public EntityLocation Locate(string entityType, string entityId) => sharding.Locate(entityType, entityId);

    public long NewSnowflakeId() => sharding.NewSnowflakeId();
}
