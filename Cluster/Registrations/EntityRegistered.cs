namespace SocketRunnerAspire.Cluster.Registrations;

/// <summary>This runner hosts the entity type <paramref name="EntityType"/>, in shard group <paramref name="ShardGroup"/>.</summary>
/// <param name="EntityType">The entity type's wire name.</param>
/// <param name="ShardGroup">The shard group its entities live in.</param>
public sealed record EntityRegistered(string EntityType, string ShardGroup) : ClusterRegistrationEvent;
