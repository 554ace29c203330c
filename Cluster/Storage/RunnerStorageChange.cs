namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>What changed in RunnerStorage, as told by <see cref="IRunnerStorageNotifications"/>.</summary>
public enum RunnerStorageChange
{
    /// <summary>A runner registered, unregistered or changed health: runner lists and shard assignments may differ now.</summary>
    Runners,

    /// <summary>A runner released one or more shard leases: a runner waiting for them may acquire them now.</summary>
    ShardsReleased,
}
