using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>Storage calls whose failure changes nothing (leases expire anyway), as made while leaving the cluster.</summary>
internal static partial class StorageCalls
{
    /// <summary>Runs <paramref name="operation"/> bounded by <paramref name="timeout"/>; a failure is logged at debug level and swallowed.</summary>
    public static async Task IgnoringErrorsAsync(Func<CancellationToken, Task> operation, TimeSpan timeout, TimeProvider time, ILogger logger)
    {
        try
        {
            using var scope = TimeoutScope.Start(timeout, time);
            await operation(scope.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogStorageIgnored(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored a storage error during shard release or shutdown (leases expire anyway)")]
    public static partial void LogStorageIgnored(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resetting persisted request {RequestId} failed; it was not reset")]
    public static partial void LogResetFailed(ILogger logger, Exception exception, long requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to runner storage change notifications failed; membership and shard moves are seen on the periodic refreshes only")]
    public static partial void LogNotificationsUnavailable(ILogger logger, Exception exception);
}
