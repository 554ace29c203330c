using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Entities;

namespace SocketRunnerAspire.Cluster;

/// <summary>
/// What senders use of the cluster (Orleans' <c>IGrainFactory</c>): handles to entities, where an entity lives, and
/// cluster-unique ids. Inject it in runners and client-only apps alike (entities, jobs, endpoints); it sends through this
/// node's <see cref="Sharding"/>, which also implements it. Read diagnostics (runners, owned shards) from <see cref="Sharding"/>.
/// </summary>
public interface IEntityClient
{
    /// <summary>A handle to the <typeparamref name="TEntity"/> with id <paramref name="entityId"/>; cheap, keep or recreate it.</summary>
    EntityRef<TEntity> GetEntity<TEntity>(string entityId);

    /// <summary>
    /// Where an entity lives: its shard (in the entity type's shard group when the type is registered here, else the
    /// default group) and the runner the current assignment gives that shard to, if any.
    /// </summary>
    EntityLocation Locate(string entityType, string entityId);

    /// <summary>A new Snowflake id: unique in the cluster (its machine part is this runner's registration), increasing here.</summary>
    long NewSnowflakeId();
}
