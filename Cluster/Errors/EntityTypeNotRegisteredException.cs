namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>
/// The runner that owns the entity's shard does not host its entity type (as during a rolling deploy that adds the
/// type). Senders retry every send retry interval, as the shard may move to a runner that hosts it, and give up with
/// this error once <see cref="Configuration.ShardingOptions.EntityRegistrationTimeout"/> has passed since their first
/// attempt. A persisted message stays stored all the same, and the first owner that hosts the type runs it.
/// </summary>
public sealed class EntityTypeNotRegisteredException(string entityType, string message) : UnknownEntityTypeException(message)
{
    /// <summary>The entity type that is not registered.</summary>
    public string EntityType { get; } = entityType;
}
