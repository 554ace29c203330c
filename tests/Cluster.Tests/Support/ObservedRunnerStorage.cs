using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Storage;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>
/// Forwards to another RunnerStorage, hiding its change notifications (the fallback: polling only), and checks the
/// handoff: whenever a runner acquires a lease, no other node may still own that shard.
/// </summary>
public class ObservedRunnerStorage(IRunnerStorage inner) : IRunnerStorage
{
    /// <summary>The nodes whose owned shards the handoff check inspects; set once they exist.</summary>
    public Func<IEnumerable<Sharding>> Nodes { get; set; } = () => [];

    /// <summary>Every acquired lease whose shard another node still owned at that moment.</summary>
    public ConcurrentQueue<string> Violations { get; } = new();

    protected IRunnerStorage Inner => inner;

    public Task<long> RegisterAsync(RunnerInfo runner, bool healthy, CancellationToken cancellationToken) => inner.RegisterAsync(runner, healthy, cancellationToken);

    public Task UnregisterAsync(RunnerAddress address, CancellationToken cancellationToken) => inner.UnregisterAsync(address, cancellationToken);

    public Task<IReadOnlyList<RegisteredRunner>> GetRunnersAsync(CancellationToken cancellationToken) => inner.GetRunnersAsync(cancellationToken);

    public Task SetRunnerHealthAsync(RunnerAddress address, bool healthy, CancellationToken cancellationToken) => inner.SetRunnerHealthAsync(address, healthy, cancellationToken);

    public async Task<IReadOnlyList<ShardId>> AcquireAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken)
    {
        var held = await inner.AcquireAsync(address, shards, cancellationToken);
        // The acquirer marks these owned only after this returns; the previous owner had to stop owning them
        // before it released the lease, so any other owner seen now is a second owner.
        foreach (var node in Nodes())
        {
            if (node.Address == address)
            {
                continue;
            }

            var owned = node.OwnedShards.ToHashSet();
            foreach (var shard in held.Where(owned.Contains))
            {
                Violations.Enqueue($"{address} acquired {shard} while {node.Address} still owned it");
            }
        }

        return held;
    }

    public Task<IReadOnlyList<ShardId>> RefreshAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken) => inner.RefreshAsync(address, shards, cancellationToken);

    public Task ReleaseAsync(RunnerAddress address, ShardId shard, CancellationToken cancellationToken) => inner.ReleaseAsync(address, shard, cancellationToken);

    public Task ReleaseAllAsync(RunnerAddress address, CancellationToken cancellationToken) => inner.ReleaseAllAsync(address, cancellationToken);
}

/// <summary>As <see cref="ObservedRunnerStorage"/>, passing the inner storage's notifications on while <see cref="NotificationsEnabled"/>.</summary>
public sealed class ObservedNotifyingRunnerStorage(IRunnerStorage inner) : ObservedRunnerStorage(inner), IRunnerStorageNotifications
{
    private int _delivered;

    /// <summary>False drops every notification (as if they were lost), so only the periodic refreshes remain.</summary>
    public volatile bool NotificationsEnabled = true;

    /// <summary>Notifications passed on so far.</summary>
    public int Delivered => Volatile.Read(ref _delivered);

    public Task<IAsyncDisposable> SubscribeAsync(Action<RunnerStorageChange> onChange, CancellationToken cancellationToken) =>
        ((IRunnerStorageNotifications)Inner).SubscribeAsync(change =>
        {
            if (NotificationsEnabled)
            {
                Interlocked.Increment(ref _delivered);
                onChange(change);
            }
        }, cancellationToken);
}
