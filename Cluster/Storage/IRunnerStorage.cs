using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>
/// The runner registry and shard leases (Effect's <c>RunnerStorage</c>). Every operation is atomic;
/// failures surface as <see cref="Errors.PersistenceException"/>.
/// </summary>
public interface IRunnerStorage
{
    /// <summary>Registers (or re-registers) a runner and returns its stable machine id (for Snowflake ids).</summary>
    Task<long> RegisterAsync(RunnerInfo runner, bool healthy, CancellationToken cancellationToken);

    /// <summary>Removes a runner and forgets runners whose heartbeat expired.</summary>
    Task UnregisterAsync(RunnerAddress address, CancellationToken cancellationToken);

    /// <summary>Live runners (heartbeat within the lease expiration) with their health flag.</summary>
    Task<IReadOnlyList<RegisteredRunner>> GetRunnersAsync(CancellationToken cancellationToken);

    /// <summary>Sets a registered runner's health flag.</summary>
    Task SetRunnerHealthAsync(RunnerAddress address, bool healthy, CancellationToken cancellationToken);

    /// <summary>Takes the leases that are free, expired or already ours; returns the shards now held.</summary>
    Task<IReadOnlyList<ShardId>> AcquireAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken);

    /// <summary>Heartbeats the runner and extends its leases; returns the shards still held.</summary>
    Task<IReadOnlyList<ShardId>> RefreshAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken);

    /// <summary>Releases one lease if held by <paramref name="address"/>.</summary>
    Task ReleaseAsync(RunnerAddress address, ShardId shard, CancellationToken cancellationToken);

    /// <summary>Releases every lease held by <paramref name="address"/>.</summary>
    Task ReleaseAllAsync(RunnerAddress address, CancellationToken cancellationToken);
}

/// <summary>A runner as listed by <see cref="IRunnerStorage.GetRunnersAsync"/>.</summary>
public sealed record RegisteredRunner(RunnerInfo Runner, bool Healthy);
