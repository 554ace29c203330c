namespace SocketRunnerAspire.Cluster.Addressing;

/// <summary>Where an entity lives: its shard and the runner the current assignment gives that shard to (null while unassigned).</summary>
public readonly record struct EntityLocation(ShardId Shard, RunnerAddress? Runner);
