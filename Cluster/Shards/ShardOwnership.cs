using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Shards;

/// <summary>
/// The shards this runner owns right now, and the gate work passes to reach them: work is admitted only while the
/// shard is owned, and marking a shard not owned waits until the admissions already past the gate are done, so nothing
/// is started on a shard that is being released. Owns no leases (see <see cref="ShardRebalancer"/> and
/// <see cref="ShardLeaseRefresher"/>).
/// </summary>
/// <remarks>
/// Admission is on every message's path, so it takes no lock: it counts itself in, then checks ownership; a release
/// clears ownership, then waits for the count to drain. The two full fences between the write and the read on each
/// side mean that either the admission sees the shard released or the release sees the admission and waits for it.
/// </remarks>
internal sealed class ShardOwnership
{
    private readonly ConcurrentDictionary<ShardId, ShardState> _shards = new();
    private readonly List<IShardListener> _listeners = [];
    private volatile bool _stopping;

    /// <summary>Set once this runner leaves or crashes: from then on no shard admits work.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Shards owned now.</summary>
    public IReadOnlyCollection<ShardId> Owned => _shards.Where(s => s.Value.Owned).Select(s => s.Key).ToArray();

    /// <summary>Subscribes a host of per-shard work; wiring only (before the runner starts).</summary>
    public void AddListener(IShardListener listener) => _listeners.Add(listener);

    public bool IsOwned(ShardId shard) => _shards.TryGetValue(shard, out var state) && state.Owned;

    /// <summary>
    /// Runs <paramref name="admit"/> if <paramref name="address"/>'s shard is owned (a release of the shard waits for it); throws
    /// <see cref="EntityNotAssignedToRunnerException"/> (senders retry it) if it is not.
    /// </summary>
    public void Admit<TState>(EntityAddress address, TState state, Action<EntityAddress, TState> admit)
    {
        if (!_shards.TryGetValue(address.ShardId, out var shard))
        {
            throw new EntityNotAssignedToRunnerException(address);
        }

        Interlocked.Increment(ref shard.Admitting);
        try
        {
            if (!shard.Owned || _stopping)
            {
                throw new EntityNotAssignedToRunnerException(address);
            }

            admit(address, state);
        }
        finally
        {
            Interlocked.Decrement(ref shard.Admitting);
        }
    }

    /// <summary>Marks <paramref name="shards"/> owned (their leases are held) and tells the listeners.</summary>
    public void Acquired(IReadOnlyCollection<ShardId> shards)
    {
        if (shards.Count == 0)
        {
            return;
        }

        foreach (var id in shards)
        {
            var shard = _shards.GetOrAdd(id, static _ => new ShardState());
            lock (shard)
            {
                shard.Owned = !_stopping;
            }
        }

        foreach (var listener in _listeners)
        {
            listener.OnShardsAcquired(shards);
        }
    }

    /// <summary>Stops admitting work for <paramref name="shard"/> and waits until every listener stopped its work there.</summary>
    public Task ReleaseAsync(ShardId shard)
    {
        MarkNotOwned(shard);
        return _listeners.Count switch
        {
            0 => Task.CompletedTask,
            1 => _listeners[0].OnShardReleasingAsync(shard),
            _ => Task.WhenAll(_listeners.Select(l => l.OnShardReleasingAsync(shard))),
        };
    }

    /// <summary>Leaving: no shard admits work from now on (what runs is stopped by <see cref="ReleaseAsync"/> per shard).</summary>
    public void BeginStopping() => _stopping = true;

    /// <summary>A crash (tests): every shard stops admitting work at once, and nothing is stopped gracefully.</summary>
    public void DropAll()
    {
        _stopping = true;
        foreach (var id in _shards.Keys)
        {
            MarkNotOwned(id);
        }
    }

    private void MarkNotOwned(ShardId id)
    {
        if (_shards.TryGetValue(id, out var shard))
        {
            lock (shard)
            {
                shard.Owned = false;
            }

            Interlocked.MemoryBarrier();
            var wait = default(SpinWait);
            while (Volatile.Read(ref shard.Admitting) != 0)
            {
                wait.SpinOnce(); // admissions are a mailbox enqueue (or an entity's activation): short
            }
        }
    }

    // Acquired and MarkNotOwned lock it against each other; admissions only count themselves in.
    private sealed class ShardState
    {
        public volatile bool Owned;
        public int Admitting;
    }
}
