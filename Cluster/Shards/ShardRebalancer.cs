using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Shards;

/// <summary>
/// Moves this runner's shards to what the assignment says (Effect's shard acquisition): stops and releases the
/// shards assigned elsewhere (each lease right after its shard's work stopped), then acquires the leases of the shards
/// assigned here that it does not hold. Runs every second (at most the refresh interval), whenever the assignment
/// changes or a lease is lost, and when storage tells that another runner released leases this one waits for.
/// </summary>
internal sealed partial class ShardRebalancer
{
    private readonly ShardingOptions _options;
    private readonly IRunnerStorage _storage;
    private readonly RunnerMembership _membership;
    private readonly ShardOwnership _ownership;
    private readonly RunnerAddress _self;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BackgroundLoop _loop;
    // Shards stopped here whose lease release has not succeeded yet; retried every pass (as Effect retries it).
    private readonly ConcurrentDictionary<ShardId, byte> _unreleased = new();
    private CancellationToken _stopping;

    public ShardRebalancer(ShardingOptions options, IRunnerStorage storage, RunnerMembership membership, ShardOwnership ownership, TimeProvider time, ILogger logger)
    {
        _options = options;
        _storage = storage;
        _membership = membership;
        _ownership = ownership;
        _self = membership.Self ?? throw new ArgumentException("Only runners own shards.", nameof(membership));
        _time = time;
        _logger = logger;
        var interval = options.RefreshAssignmentsInterval < TimeSpan.FromSeconds(1) ? options.RefreshAssignmentsInterval : TimeSpan.FromSeconds(1);
        _loop = new BackgroundLoop(RebalanceOnceAsync, () => interval, time, ex => LogRebalanceFailed(logger, ex));
    }

    public Task Start(CancellationToken stopping)
    {
        _stopping = stopping;
        return _loop.Start(stopping);
    }

    /// <summary>Rebalances again now (the assignment changed or a lease was lost).</summary>
    public void Wake() => _loop.Wake();

    /// <summary>Another runner released leases: rebalances now if a shard assigned here is not held yet.</summary>
    public void OnShardsReleased()
    {
        foreach (var (shard, owner) in _membership.Assignment)
        {
            if (owner == _self && !_ownership.IsOwned(shard))
            {
                Wake();
                return;
            }
        }
    }

    private async Task RebalanceOnceAsync()
    {
        if (_ownership.IsStopping)
        {
            return;
        }

        var assignment = _membership.Assignment;
        var mine = assignment.Where(a => a.Value == _self).Select(a => a.Key).ToHashSet();

        var leaving = _ownership.Owned.Where(shard => !mine.Contains(shard)).ToArray();
        if (leaving.Length > 0)
        {
            // Each lease goes back as soon as its own shard's work has stopped, not after the slowest shard's.
            await Task.WhenAll(leaving.Select(async shard =>
            {
                await _ownership.ReleaseAsync(shard).ConfigureAwait(false);
                _unreleased.TryAdd(shard, 0);
                await ReleaseLeaseAsync(shard).ConfigureAwait(false);
            })).ConfigureAwait(false);
            LogReleased(_logger, _self.ToString(), leaving.Length, _ownership.Owned.Count);
        }

        // A failed release is retried on the next pass instead of leaving the new owner waiting for the expiry.
        await Task.WhenAll(_unreleased.Keys.Where(shard => !mine.Contains(shard)).Select(ReleaseLeaseAsync)).ConfigureAwait(false);
        foreach (var shard in _unreleased.Keys.Where(mine.Contains))
        {
            _unreleased.TryRemove(shard, out _);   // assigned back to us: the lease is ours to keep
        }

        var wanted = mine.Where(shard => !_ownership.IsOwned(shard)).OrderBy(s => s.Group, StringComparer.Ordinal).ThenBy(s => s.Id).ToArray();
        if (wanted.Length == 0)
        {
            return;
        }

        using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time, _stopping);
        var acquired = await _storage.AcquireAsync(_self, wanted, timeout.Token).ConfigureAwait(false);
        var current = _membership.Assignment;
        var kept = new List<ShardId>(acquired.Count);
        foreach (var shard in acquired)
        {
            if (current.TryGetValue(shard, out var owner) && owner == _self)
            {
                kept.Add(shard);
            }
            else
            {
                // The assignment moved while we were acquiring: give the lease back on the next pass
                // rather than make the new owner wait for it to expire.
                _unreleased.TryAdd(shard, 0);
                Wake();
            }
        }

        _ownership.Acquired(kept);
        if (acquired.Count > 0)
        {
            LogAcquired(_logger, _self.ToString(), acquired.Count, wanted.Length, _ownership.Owned.Count);
        }
    }

    private async Task ReleaseLeaseAsync(ShardId shard)
    {
        try
        {
            using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time, _stopping);
            await _storage.ReleaseAsync(_self, shard, timeout.Token).ConfigureAwait(false);
            _unreleased.TryRemove(shard, out _);
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            StorageCalls.LogStorageIgnored(_logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {Runner} acquired {Acquired} of {Wanted} shard leases and now owns {Owned} shards")]
    private static partial void LogAcquired(ILogger logger, string runner, int acquired, int wanted, int owned);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {Runner} released {Released} shards and now owns {Owned} shards")]
    private static partial void LogReleased(ILogger logger, string runner, int released, int owned);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Acquiring or releasing shard leases failed; retrying")]
    private static partial void LogRebalanceFailed(ILogger logger, Exception exception);
}
