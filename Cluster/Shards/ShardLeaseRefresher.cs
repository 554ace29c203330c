using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Shards;

/// <summary>
/// Keeps this runner's shard leases alive (Effect's lock refresh): refreshes every owned lease each refresh interval;
/// a lease storage did not renew is lost, and its shard stops here. When storage cannot be reached it fences: the
/// shards' entities stop before any lease can expire, so no other runner can start an entity this one still runs.
/// </summary>
internal sealed partial class ShardLeaseRefresher(
    ShardingOptions options, IRunnerStorage storage, ShardOwnership ownership, RunnerAddress self, Action onLeasesLost, TimeProvider time, ILogger logger)
{
    public Task Start(CancellationToken stopping) => Task.Run(() => RefreshLoopAsync(stopping), CancellationToken.None);

    private async Task RefreshLoopAsync(CancellationToken stopping)
    {
        var lastSuccess = time.GetTimestamp();
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.ShardLockRefreshInterval, time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var owned = ownership.Owned.ToArray();
            try
            {
                using var timeout = TimeoutScope.Start(options.StorageTimeout, time, stopping);
                var held = (await storage.RefreshAsync(self, owned, timeout.Token).ConfigureAwait(false)).ToHashSet();
                lastSuccess = time.GetTimestamp();
                var lost = owned.Where(s => !held.Contains(s)).ToArray();
                if (lost.Length > 0)
                {
                    LogLeasesLost(logger, lost.Length);
                    await Task.WhenAll(lost.Select(ownership.ReleaseAsync)).ConfigureAwait(false);
                    onLeasesLost();
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var sinceSuccess = time.GetElapsedTime(lastSuccess);
                LogRefreshFailed(logger, ex, sinceSuccess.TotalSeconds);
                if (MustFence(sinceSuccess, options))
                {
                    LogFenced(logger, owned.Length);
                    await Task.WhenAll(owned.Select(ownership.ReleaseAsync)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// True when the leases could expire before the next refresh completes: the time since the last success, plus one
    /// interval, plus one storage timeout, reaches the lease expiration.
    /// </summary>
    internal static bool MustFence(TimeSpan sinceSuccess, ShardingOptions options) =>
        sinceSuccess + options.ShardLockRefreshInterval + options.StorageTimeout >= options.ShardLockExpiration;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost {Count} shard leases; their entities were stopped")]
    private static partial void LogLeasesLost(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing shard leases failed ({Seconds:0.0} s since the last success)")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard leases could not be refreshed in time; stopped the entities of {Count} shards before their leases can expire")]
    private static partial void LogFenced(ILogger logger, int count);
}
