using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// The owner's storage read loop (Effect's "storage read loop"): ends the read leases of newly acquired shards (the
/// previous owner had read their messages), then hands every due, unfinished request of the owned shards to
/// <see cref="PersistedDelivery"/>. Runs on its <see cref="StorageReadSchedule"/>.
/// </summary>
internal sealed partial class StorageReadLoop : IShardListener
{
    private const int BatchSize = 1024;

    private readonly ShardingOptions _options;
    private readonly IMessageStorage _messages;
    private readonly ShardOwnership _ownership;
    private readonly PersistedDelivery _delivery;
    private readonly StorageReadSchedule _schedule;
    private readonly TimeProvider _time;
    private readonly BackgroundLoop _loop;
    private readonly ConcurrentDictionary<ShardId, byte> _needsReset = new();
    private CancellationToken _stopping;

    public StorageReadLoop(
        ShardingOptions options, IMessageStorage messages, ShardOwnership ownership, PersistedDelivery delivery,
        StorageReadSchedule schedule, TimeProvider time, ILogger logger)
    {
        _options = options;
        _messages = messages;
        _ownership = ownership;
        _delivery = delivery;
        _schedule = schedule;
        _time = time;
        _loop = new BackgroundLoop(ReadOnceAsync, schedule.NextWait, time, ex => LogReadFailed(logger, ex), schedule.Signal);
    }

    public Task Start(CancellationToken stopping)
    {
        _stopping = stopping;
        return _loop.Start(stopping);
    }

    void IShardListener.OnShardsAcquired(IReadOnlyCollection<ShardId> shards)
    {
        _delivery.OnShardsAcquired(shards);
        // Persisted messages the previous owner had read are leased to it; end those leases before reading.
        foreach (var shard in shards)
        {
            _needsReset.TryAdd(shard, 0);
        }

        _schedule.WakeNow();
    }

    Task IShardListener.OnShardReleasingAsync(ShardId shard) => _delivery.RunsEndedAsync(shard);

    private async Task ReadOnceAsync()
    {
        if (_ownership.IsStopping)
        {
            return;
        }

        if (!_needsReset.IsEmpty)
        {
            var acquired = _needsReset.Keys.ToArray();
            using var resetTimeout = TimeoutScope.Start(_options.StorageTimeout, _time, _stopping);
            await _messages.ResetShardsAsync(acquired, resetTimeout.Token).ConfigureAwait(false);
            foreach (var shard in acquired)
            {
                _needsReset.TryRemove(shard, out _);
            }
        }

        _delivery.BeginStoragePass();
        _schedule.BeginPass();
        var owned = _ownership.Owned.Where(s => !_needsReset.ContainsKey(s)).ToHashSet();
        while (owned.Count > 0 && !_ownership.IsStopping)
        {
            IReadOnlyList<UnprocessedMessage> batch;
            try
            {
                using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time, _stopping);
                batch = await _messages.UnprocessedMessagesAsync(owned, BatchSize, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is PersistenceException or OperationCanceledException)
            {
                // The read may have leased messages on the server even though the answer was lost: end those
                // leases before the next read, or the messages would wait out the lease.
                foreach (var shard in owned)
                {
                    _needsReset.TryAdd(shard, 0);
                }

                throw;
            }

            foreach (var message in batch)
            {
                try
                {
                    _delivery.StartFromStorage(message);
                }
                catch (EntityNotAssignedToRunnerException)
                {
                    // The shard left while reading; its next owner resets and reads it.
                }
            }

            if (batch.Count < BatchSize)
            {
                break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading persisted messages from storage failed; retrying")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
