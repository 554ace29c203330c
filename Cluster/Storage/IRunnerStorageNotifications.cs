namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>
/// Optional for an <see cref="IRunnerStorage"/>: tells every node of the cluster at once that runners or shard leases
/// changed (Redis pub/sub; in process, a callback), so a join or leave is seen, and a released shard taken, without
/// waiting for the next periodic refresh. Notifications are hints, best effort and may be lost or repeated: nodes keep
/// polling on their intervals, leases stay the only authority on who owns a shard, and storage without this interface
/// works the same, only slower to rebalance.
/// </summary>
public interface IRunnerStorageNotifications
{
    /// <summary>
    /// Calls <paramref name="onChange"/> (on any thread; it must return quickly) for every change any node makes from
    /// now on, until the returned handle is disposed.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(Action<RunnerStorageChange> onChange, CancellationToken cancellationToken);
}
