namespace SocketRunnerAspire.Cluster.Addressing;

/// <summary>An entity: its type, its id and the shard its id maps to.</summary>
public readonly record struct EntityAddress(string EntityType, string EntityId, ShardId ShardId)
{
    /// <inheritdoc />
    public override string ToString() => $"{EntityType}/{EntityId}@{ShardId}";
}
