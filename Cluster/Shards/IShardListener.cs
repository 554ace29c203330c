using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Shards;

/// <summary>What hosts work per shard (entities, singletons, the persisted-message reader) hears of this runner's shards.</summary>
internal interface IShardListener
{
    /// <summary>This runner now holds the leases of <paramref name="shards"/>.</summary>
    void OnShardsAcquired(IReadOnlyCollection<ShardId> shards);

    /// <summary>
    /// <paramref name="shard"/> is no longer owned here (new work for it is already refused): stop what runs on it,
    /// gracefully. Its lease is released only after every listener finished.
    /// </summary>
    Task OnShardReleasingAsync(ShardId shard);
}
